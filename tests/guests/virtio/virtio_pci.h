/* A minimal modern (virtio 1.x) virtio-pci driver for the test guests: capability discovery,
 * status and feature negotiation, and split virtqueues that the guest polls (no interrupts).
 * Every step prints what it saw; functions return false after printing why they failed. */
#pragma once

#include "runtime/guest.h"
#include "virtio/pci.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BLK 0x1042   /* 0x1040 + device type 2 */
#define VIRTIO_PCI_DEVICE_RNG 0x1044   /* 0x1040 + device type 4 */

#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Common configuration structure offsets (virtio 1.x, 4.1.4.3). */
#define VIRTIO_COMMON_DFSELECT 0x00
#define VIRTIO_COMMON_DF 0x04
#define VIRTIO_COMMON_GFSELECT 0x08
#define VIRTIO_COMMON_GF 0x0c
#define VIRTIO_COMMON_MSIX 0x10
#define VIRTIO_COMMON_NUMQ 0x12
#define VIRTIO_COMMON_STATUS 0x14
#define VIRTIO_COMMON_CFGGENERATION 0x15
#define VIRTIO_COMMON_Q_SELECT 0x16
#define VIRTIO_COMMON_Q_SIZE 0x18
#define VIRTIO_COMMON_Q_MSIX 0x1a
#define VIRTIO_COMMON_Q_ENABLE 0x1c
#define VIRTIO_COMMON_Q_NOFF 0x1e
#define VIRTIO_COMMON_Q_DESCLO 0x20
#define VIRTIO_COMMON_Q_AVAILLO 0x28
#define VIRTIO_COMMON_Q_USEDLO 0x30

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
/* The queues this driver sets up never exceed this many entries. */
#define VIRTQ_MAX_SIZE 16

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct virtq_avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[VIRTQ_MAX_SIZE];
  uint16_t used_event;
};
struct virtq_used_elem {
  uint32_t id;
  uint32_t len;
};
struct virtq_used {
  uint16_t flags;
  uint16_t idx;
  struct virtq_used_elem ring[VIRTQ_MAX_SIZE];
  uint16_t avail_event;
};

/* One split virtqueue in guest RAM (the guest's identity map: virtual == physical). */
struct virtq {
  uint16_t index;
  uint16_t size;
  uint16_t next_avail;     /* the avail idx the driver publishes next */
  uint16_t last_used;      /* the used idx the driver has consumed up to */
  uint64_t notify_addr;
  struct virtq_desc desc[VIRTQ_MAX_SIZE] __attribute__((aligned(16)));
  struct virtq_avail avail __attribute__((aligned(2)));
  struct virtq_used used __attribute__((aligned(4)));
} __attribute__((aligned(4096)));

struct virtio_dev {
  const char* name;        /* prefix of every log line, e.g. "virtio-blk" */
  struct pci_function pci;
  uint64_t common;         /* MMIO addresses of the capability structures */
  uint64_t notify;
  uint32_t notify_multiplier;
  uint64_t isr;
  uint64_t device_cfg;
  uint32_t device_cfg_len;
  uint64_t msix_table;     /* 0 when the function has no MSI-X capability */
  uint16_t msix_table_size;
  uint64_t msix_pba;       /* pending bit array, 0 when absent */
  uint64_t features;       /* negotiated */
};

/* Finds vendor:device on bus 0, assigns its BARs, enables memory space and bus mastering and
 * walks the capability list. The command line word "rebar=1" first clears the BARs, so the
 * guest assigns them itself (what it must do when no firmware ran). */
bool virtio_probe(struct virtio_dev* dev, const char* name, uint16_t device_id);
/* Reset (waits for status 0), ACKNOWLEDGE|DRIVER, offers VERSION_1 plus the subset of `wanted`
 * the device offers, FEATURES_OK and checks that it stuck. */
bool virtio_init(struct virtio_dev* dev, uint64_t wanted);
/* Sets up queue `index` with min(device maximum, VIRTQ_MAX_SIZE) entries (or size_override
 * when non-zero, written as is), NO_VECTOR for MSI-X, and enables it. */
bool virtio_setup_queue(struct virtio_dev* dev, struct virtq* q, uint16_t index,
                        uint16_t size_override);
void virtio_driver_ok(struct virtio_dev* dev);
uint8_t virtio_status(const struct virtio_dev* dev);
void virtio_reset(struct virtio_dev* dev);

/* Publishes the chain starting at descriptor `head` and notifies the device. */
void virtq_publish(struct virtq* q, uint16_t head);
/* Notifies without publishing (for tests that edit the rings themselves). */
void virtq_notify(const struct virtq* q);
/* Polls the used ring for the next element, up to about timeout_ms of wall time (TSC at
 * >= 1 GHz). True with *id and *len filled when one arrived. */
bool virtq_poll_used(struct virtq* q, uint32_t timeout_ms, uint32_t* id, uint32_t* len);

/* Device configuration reads, retried until config_generation is stable. */
uint64_t virtio_config_read64(const struct virtio_dev* dev, uint32_t offset);
uint32_t virtio_config_read32(const struct virtio_dev* dev, uint32_t offset);
uint8_t virtio_config_read8(const struct virtio_dev* dev, uint32_t offset);

static inline void memory_barrier(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline uint64_t guest_phys(const void* p) { return (uint64_t)(uintptr_t)p; }
