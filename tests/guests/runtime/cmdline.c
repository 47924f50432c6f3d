/* The kernel command line, from the Linux zero page (64-bit entry) or PVH start_info (QEMU).
 * Copied at start-up, so guests may reuse low memory (the SMP trampoline does). */
#include "runtime/guest.h"

/* Set by start.S: exactly one is non-zero, depending on the entry point used. */
extern uint64_t boot_zero_page;
extern uint64_t boot_pvh_start_info;

enum {
  kCmdlineMax = 2048,  /* longer command lines are truncated */
  kZeroPageCmdLinePtr = 0x228,    /* boot_params.hdr.cmd_line_ptr, u32 */
  kZeroPageExtCmdLinePtr = 0x0c8, /* boot_params.ext_cmd_line_ptr, high 32 bits */
  kPvhMagicOffset = 0,
  kPvhCmdlinePaddr = 24,          /* hvm_start_info.cmdline_paddr, u64 */
};
#define PVH_START_MAGIC 0x336ec578u

static char raw[kCmdlineMax];
static char words[kCmdlineMax];  /* raw with every space turned into NUL */

static uint64_t cmdline_address(void) {
  if (boot_pvh_start_info != 0) {
    if (mmio_read32(boot_pvh_start_info + kPvhMagicOffset) != PVH_START_MAGIC) return 0;
    return mmio_read64(boot_pvh_start_info + kPvhCmdlinePaddr);
  }
  if (boot_zero_page != 0) {
    return mmio_read32(boot_zero_page + kZeroPageCmdLinePtr) |
           ((uint64_t)mmio_read32(boot_zero_page + kZeroPageExtCmdLinePtr) << 32);
  }
  return 0;
}

void cmdline_init(void) {
  uint64_t addr = cmdline_address();
  if (addr == 0 || addr >= 0x100000000ull) return;  /* only the identity map is reachable */
  const volatile char* src = phys_ptr(addr);
  size_t len = 0;
  while (len < kCmdlineMax - 1 && src[len] != '\0') {
    raw[len] = src[len];
    ++len;
  }
  raw[len] = '\0';
  for (size_t i = 0; i <= len; ++i) words[i] = (raw[i] == ' ' || raw[i] == '\t') ? '\0' : raw[i];
}

const char* cmdline_raw(void) { return raw; }

const char* cmdline_get(const char* key) {
  size_t key_len = strlen(key);
  size_t len = strlen(raw);
  for (size_t i = 0; i < len;) {
    const char* word = &words[i];
    size_t word_len = strlen(word);
    if (word_len >= key_len && memcmp(word, key, key_len) == 0) {
      if (word[key_len] == '=') return word + key_len + 1;
      if (word[key_len] == '\0') return word + key_len;
    }
    i += word_len + 1;
  }
  return NULL;
}

uint64_t cmdline_get_u64(const char* key, uint64_t fallback) {
  const char* s = cmdline_get(key);
  if (s == NULL || *s == '\0') return fallback;
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    if (*s == '\0') return fallback;
  }
  uint64_t value = 0;
  for (; *s != '\0'; ++s) {
    unsigned digit;
    if (*s >= '0' && *s <= '9') {
      digit = (unsigned)(*s - '0');
    } else if (base == 16 && *s >= 'a' && *s <= 'f') {
      digit = (unsigned)(*s - 'a' + 10);
    } else if (base == 16 && *s >= 'A' && *s <= 'F') {
      digit = (unsigned)(*s - 'A' + 10);
    } else {
      return fallback;
    }
    if (value > (UINT64_MAX - digit) / base) return fallback;  /* overflow */
    value = value * base + digit;
  }
  return value;
}
