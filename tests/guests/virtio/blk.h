/* virtio-blk requests over a polled queue, shared by the virtio_blk and virtio_hostile guests. */
#pragma once

#include "virtio/virtio_pci.h"

#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
/* blk_request's result when no completion arrived in time. */
#define BLK_TIMEOUT (-1)

#define VIRTIO_BLK_CFG_CAPACITY 0  /* u64, in 512-byte sectors */
#define BLK_SECTOR_SIZE 512
#define BLK_ID_BYTES 20

struct virtio_blk_req_header {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
/* Payload of DISCARD and WRITE_ZEROES. */
struct virtio_blk_discard_range {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};

/* One request as a three-descriptor chain from descriptor 0 (header, data, status; no data
 * descriptor when len is 0). data_is_written_by_device marks the data buffer device-writable
 * (IN, GET_ID). Returns the status byte, or BLK_TIMEOUT. *used_len receives the used element's
 * length (may be NULL). */
int blk_request(struct virtq* q, uint32_t type, uint64_t sector, void* data, uint32_t len,
                bool data_is_written_by_device, uint32_t* used_len);

/* The shared request header and status byte, exposed for the hostile guest's hand-made
 * chains. */
extern struct virtio_blk_req_header blk_header;
extern volatile uint8_t blk_status;
