/* rtc: reads the CMOS clock once and prints the date and time it holds. */
#include "runtime/guest.h"

enum {
  kCmosIndex = 0x70,
  kCmosData = 0x71,
  kSeconds = 0x00,
  kMinutes = 0x02,
  kHours = 0x04,
  kDay = 0x07,
  kMonth = 0x08,
  kYear = 0x09,
  kStatusA = 0x0a,
  kStatusB = 0x0b,
  kCentury = 0x32,
  kStatusAUpdateInProgress = 0x80,
  kStatusBBinary = 0x04,
  kStatusB24Hour = 0x02,
  kHourPm = 0x80,
};

static uint8_t cmos_read(uint8_t reg) {
  outb(kCmosIndex, reg);
  return inb(kCmosData);
}

struct rtc_time {
  uint8_t sec, min, hour, day, month, year, century;
};

static void read_raw(struct rtc_time* t) {
  /* Bounded: a clock stuck in "update in progress" is reported, not waited on forever. */
  for (int i = 0; i < 100000 && (cmos_read(kStatusA) & kStatusAUpdateInProgress); ++i) cpu_relax();
  t->sec = cmos_read(kSeconds);
  t->min = cmos_read(kMinutes);
  t->hour = cmos_read(kHours);
  t->day = cmos_read(kDay);
  t->month = cmos_read(kMonth);
  t->year = cmos_read(kYear);
  t->century = cmos_read(kCentury);
}

static bool same(const struct rtc_time* a, const struct rtc_time* b) {
  return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->day == b->day &&
         a->month == b->month && a->year == b->year && a->century == b->century;
}

static unsigned from_bcd(uint8_t v) { return (unsigned)(v >> 4) * 10 + (v & 0x0f); }

void guest_main(void) {
  guest_printf("rtc: reading the CMOS clock\n");
  /* Read until two reads agree, so an update between registers cannot tear the result. */
  struct rtc_time t, again;
  read_raw(&t);
  for (int tries = 0; tries < 5; ++tries) {
    read_raw(&again);
    if (same(&t, &again)) break;
    t = again;
  }
  uint8_t status_b = cmos_read(kStatusB);
  bool binary = (status_b & kStatusBBinary) != 0;
  bool pm = !(status_b & kStatusB24Hour) && (t.hour & kHourPm);
  uint8_t hour_bits = (status_b & kStatusB24Hour) ? t.hour : (uint8_t)(t.hour & ~kHourPm);
  unsigned sec = binary ? t.sec : from_bcd(t.sec);
  unsigned min = binary ? t.min : from_bcd(t.min);
  unsigned hour = binary ? hour_bits : from_bcd(hour_bits);
  unsigned day = binary ? t.day : from_bcd(t.day);
  unsigned month = binary ? t.month : from_bcd(t.month);
  unsigned year = binary ? t.year : from_bcd(t.year);
  unsigned century = binary ? t.century : from_bcd(t.century);
  if (!(status_b & kStatusB24Hour)) hour = (hour % 12) + (pm ? 12 : 0);  /* 12 AM is 0 h */
  if (century < 19 || century > 99) century = 20;  /* no usable century register */
  guest_printf("rtc: %04u-%02u-%02u %02u:%02u:%02u\n", century * 100 + year, month, day, hour,
               min, sec);
}
