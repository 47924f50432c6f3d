/* guest_printf: just enough of printf for test output, written straight to the console. */
#include "runtime/guest.h"

static void put_padding(char c, int count) {
  for (int i = 0; i < count; ++i) serial_putc(c);
}

static void put_unsigned(uint64_t value, unsigned base, bool upper, int width, char pad) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char buf[24];
  int len = 0;
  do {
    buf[len++] = digits[value % base];
    value /= base;
  } while (value != 0);
  put_padding(pad, width - len);
  while (len > 0) serial_putc(buf[--len]);
}

static void put_signed(int64_t value, int width, char pad) {
  if (value >= 0) {
    put_unsigned((uint64_t)value, 10, false, width, pad);
    return;
  }
  uint64_t magnitude = (uint64_t)0 - (uint64_t)value;  /* no overflow for INT64_MIN */
  if (pad == '0') {
    serial_putc('-');
    put_unsigned(magnitude, 10, false, width - 1, pad);
    return;
  }
  /* Right-align "-digits" in width. */
  int digits = 0;
  for (uint64_t v = magnitude; v != 0; v /= 10) ++digits;
  put_padding(' ', width - digits - 1);
  serial_putc('-');
  put_unsigned(magnitude, 10, false, 0, ' ');
}

void guest_vprintf(const char* fmt, va_list args) {
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      serial_putc(*p);
      continue;
    }
    ++p;
    char pad = ' ';
    if (*p == '0') {
      pad = '0';
      ++p;
    }
    int width = 0;
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l' || *p == 'z') {
      longs = (*p == 'z') ? 2 : longs + 1;
      ++p;
    }
    switch (*p) {
      case 'd':
      case 'i': {
        int64_t v = longs ? va_arg(args, long) : va_arg(args, int);
        put_signed(v, width, pad);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v = longs ? va_arg(args, unsigned long) : va_arg(args, unsigned int);
        put_unsigned(v, *p == 'u' ? 10 : 16, *p == 'X', width, pad);
        break;
      }
      case 'p':
        serial_putc('0');
        serial_putc('x');
        put_unsigned((uint64_t)(uintptr_t)va_arg(args, void*), 16, false, width, pad);
        break;
      case 'c':
        serial_putc((char)va_arg(args, int));
        break;
      case 's': {
        const char* s = va_arg(args, const char*);
        if (s == NULL) s = "(null)";
        size_t len = strlen(s);
        put_padding(' ', width - (int)len);
        serial_write(s, len);
        break;
      }
      case '%':
        serial_putc('%');
        break;
      case '\0':
        return;
      default:  /* unknown conversion: show it rather than guess */
        serial_putc('%');
        serial_putc(*p);
        break;
    }
  }
}

void guest_printf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  guest_vprintf(fmt, args);
  va_end(args);
}
