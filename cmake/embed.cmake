# Embeds the file IN as a NUL-terminated C string `bfq_lua_library` in OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
math(EXPR len "${n} / 2")
file(WRITE ${OUT} "#include <stddef.h>\nconst char bfq_lua_library[] = {${bytes}0x00};\nconst size_t bfq_lua_library_len = ${len};\n")
