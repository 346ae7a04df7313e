# Writes OUT with the project version and the git revision of SRC; touches OUT only on change.
# bfq_version_text is what `bfq --version` prints after "bfq " and what every heartbeat carries,
# so `bfq status` tells which build each instance runs during a rolling upgrade.
execute_process(COMMAND git -C ${SRC} rev-parse --short=12 HEAD
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
endif()
execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT dirty STREQUAL "")
  set(rev "${rev}-dirty")
endif()
set(text "const char *bfq_version = \"${VERSION}\";\nconst char *bfq_revision = \"${rev}\";\nconst char *bfq_version_text = \"${VERSION} (${rev})\";\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
