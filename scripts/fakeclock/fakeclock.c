/* Shift the wall clock of a process tree by FAKECLOCK_OFFSET_SECONDS; leave monotonic clocks real.
 *
 * Used by scripts/faked_clock.py to run the test suite at awkward moments (Friday evening, New
 * Year's Eve, the DST change). Debian's libfaketime 0.9.10 cannot do this for Python 3.11: with
 * FAKETIME_DONT_FAKE_MONOTONIC time.sleep fails with EINVAL, without it every threading timeout
 * (sem_clockwait on the real monotonic clock) waits for the whole offset. Shifting only the wall
 * clock keeps sleeps, timeouts and locks exact. Build: cc -shared -fPIC -O2 -o fakeclock.so fakeclock.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_ns;
static int (*real_clock_gettime)(clockid_t, struct timespec *);

__attribute__((constructor)) static void fakeclock_init(void) {
    const char *value = getenv("FAKECLOCK_OFFSET_SECONDS");
    offset_ns = value ? atoll(value) * 1000000000LL : 0;
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

static int is_wall_clock(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    if (!real_clock_gettime) fakeclock_init();
    int result = real_clock_gettime(clock, ts);
    if (result == 0 && offset_ns != 0 && is_wall_clock(clock)) {
        long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns;
        ts->tv_sec = ns / 1000000000LL;
        ts->tv_nsec = ns % 1000000000LL;
    }
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec ts;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
