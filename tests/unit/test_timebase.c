/* test_timebase: clocks, UTC minutes, ISO format and the exchange clock offset. */
#include <string.h>

#include "core/timebase.h"
#include "tests/harness/harness.h"

static void test_clocks(void)
{
    wall_ms_t w = timebase_wall_ms();
    CHECK(w > 1700000000000LL); /* after 2023 */
    CHECK(w - th_now_ms() < 1000 && th_now_ms() - w < 1000);
    mono_ms_t m1 = timebase_mono_ms();
    th_sleep_ms(20);
    mono_ms_t m2 = timebase_mono_ms();
    CHECK(m2 - m1 >= 19 && m2 - m1 < 2000);
}

static void test_minute_and_iso(void)
{
    CHECK(timebase_utc_minute(0) == 0);
    CHECK(timebase_utc_minute(59999) == 0);
    CHECK(timebase_utc_minute(60000) == 1);
    CHECK(timebase_utc_minute(1727683915920LL) == 28794731);
    CHECK(timebase_utc_minute(-1) == -1);
    char buf[32];
    timebase_format_iso(1727683915920LL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "2024-09-30T08:11:55.920Z");
    timebase_format_iso(0, buf, sizeof buf);
    CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000Z");
    timebase_format_iso(1709251199999LL, buf, sizeof buf); /* leap day's last ms */
    CHECK_EQ_STR(buf, "2024-02-29T23:59:59.999Z");
    timebase_format_iso(-1, buf, sizeof buf);
    CHECK_EQ_STR(buf, "1969-12-31T23:59:59.999Z");
    timebase_format_iso(1727683915920LL, buf, 11); /* cut, still terminated */
    CHECK_EQ_STR(buf, "2024-09-30");
}

static void test_servertime(void)
{
    struct servertime st;
    memset(&st, 0, sizeof st);
    CHECK(!servertime_valid(&st, 60000));
    /* Sent at 1000, answered at 1100, server said 5050: midpoint 1050, offset 4000. */
    servertime_update(&st, 1000, 1100, 5050);
    CHECK(st.offset_ms == 4000 && st.rtt_ms == 100);
    CHECK(servertime_valid(&st, 60000));
    CHECK(!servertime_valid(&st, 0));
    wall_ms_t now = servertime_now(&st), wall = timebase_wall_ms();
    CHECK(now - wall >= 3990 && now - wall <= 4010);
    /* A much slower answer soon after does not replace the better sample. */
    servertime_update(&st, 2000, 3000, 9000);
    CHECK(st.offset_ms == 4000 && st.rtt_ms == 100);
    /* A comparable one does (odd rtt: midpoint floors). */
    servertime_update(&st, 2000, 2111, 4055);
    CHECK(st.offset_ms == 4055 - 2055 && st.rtt_ms == 111);
    /* A better one always does. */
    servertime_update(&st, 3000, 3010, 3105);
    CHECK(st.offset_ms == 100 && st.rtt_ms == 10);
    /* Negative offsets: the local clock is ahead. */
    servertime_update(&st, 10000, 10010, 9000);
    CHECK(st.offset_ms == -1005);
    /* A negative round trip (wall clock stepped back) is ignored. */
    servertime_update(&st, 10000, 9990, 1);
    CHECK(st.offset_ms == -1005);
    /* After -1021: invalid, and the next sample is taken whatever its round trip. */
    servertime_invalidate(&st);
    CHECK(!servertime_valid(&st, 60000));
    servertime_update(&st, 20000, 21000, 20600);
    CHECK(servertime_valid(&st, 60000) && st.offset_ms == 100 && st.rtt_ms == 1000);
    /* An old better sample stops protecting itself after ten minutes. */
    st.rtt_ms = 5;
    st.synced_at -= 11 * 60 * 1000;
    servertime_update(&st, 30000, 31000, 30700);
    CHECK(st.offset_ms == 200 && st.rtt_ms == 1000);
}

int main(void)
{
    test_clocks();
    test_minute_and_iso();
    test_servertime();
    return th_done();
}
