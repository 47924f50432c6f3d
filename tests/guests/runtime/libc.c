/* The few libc functions a freestanding compiler may still emit calls to. String
 * instructions, so the optimizer cannot turn a loop here back into a call to itself. */
#include "runtime/guest.h"

void* memset(void* dst, int c, size_t n) {
  void* d = dst;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

void* memcpy(void* dst, const void* src, size_t n) {
  void* d = dst;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  if ((uintptr_t)dst <= (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n)
    return memcpy(dst, src, n);
  /* Overlap with dst above src: copy backwards. */
  void* d = (char*)dst + n - 1;
  const void* s = (const char*)src + n - 1;
  __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const volatile unsigned char* x = a;
  const volatile unsigned char* y = b;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  const volatile char* p = s;
  size_t n = 0;
  while (p[n] != '\0') ++n;
  return n;
}
