/* virtio-blk requests (see blk.h). */
#include "virtio/blk.h"

struct virtio_blk_req_header blk_header __attribute__((aligned(16)));
volatile uint8_t blk_status;

enum { kRequestTimeoutMs = 10000 };

int blk_request(struct virtq* q, uint32_t type, uint64_t sector, void* data, uint32_t len,
                bool data_is_written_by_device, uint32_t* used_len) {
  blk_header.type = type;
  blk_header.reserved = 0;
  blk_header.sector = sector;
  blk_status = 0xff;  /* a value the device never writes, so a missing status shows */
  uint16_t n = 0;
  q->desc[n] = (struct virtq_desc){guest_phys(&blk_header), sizeof(blk_header),
                                   VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1)};
  ++n;
  if (len != 0) {
    q->desc[n] = (struct virtq_desc){
        guest_phys(data), len,
        (uint16_t)(VIRTQ_DESC_F_NEXT | (data_is_written_by_device ? VIRTQ_DESC_F_WRITE : 0)),
        (uint16_t)(n + 1)};
    ++n;
  }
  q->desc[n] = (struct virtq_desc){guest_phys((const void*)&blk_status), 1, VIRTQ_DESC_F_WRITE, 0};
  virtq_publish(q, 0);
  uint32_t id = 0, written = 0;
  if (!virtq_poll_used(q, kRequestTimeoutMs, &id, &written)) return BLK_TIMEOUT;
  if (used_len != NULL) *used_len = written;
  if (id != 0) guest_printf("virtio-blk: used element names head %u, expected 0\n", id);
  return blk_status;
}
