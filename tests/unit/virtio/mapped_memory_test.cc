// Guest memory shared by fd, as SET_MEM_TABLE delivers it: mapped only within its file.
#include "devices/virtio/mapped_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bulwark/common/unique_fd.h"

namespace bulwark::virtio {
namespace {

UniqueFd guest_ram(size_t bytes) {
  UniqueFd fd(::memfd_create("guest-ram", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(bytes)), 0);
  return fd;
}

TEST(MappedGuestMemory, MapsEachRegionAtItsOffsetSharedWithTheFrontend) {
  UniqueFd ram = guest_ram(0x3000);
  const char marker[] = "written by the guest";
  ASSERT_EQ(::pwrite(ram.get(), marker, sizeof(marker), 0x1010), static_cast<ssize_t>(sizeof(marker)));
  const vhost_user::MemoryRegion regions[] = {{0x100000, 0x2000, 0x7f0000000000, 0x1000}};
  const int fds[] = {ram.get()};
  auto memory = MappedGuestMemory::map(regions, fds);
  ASSERT_TRUE(memory.ok()) << memory.error().message();
  auto bytes = memory->map().translate(0x100010, sizeof(marker));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(std::memcmp(bytes->data(), marker, sizeof(marker)), 0);
  (*bytes)[0] = 'W';  // the device's write reaches the shared file
  char first = 0;
  ASSERT_EQ(::pread(ram.get(), &first, 1, 0x1010), 1);
  EXPECT_EQ(first, 'W');
  EXPECT_FALSE(memory->map().translate(0x102000, 1)) << "past the region";
  EXPECT_EQ(memory->map().frontend_to_guest(0x7f0000000100), 0x100100u);

  MappedGuestMemory moved = std::move(*memory);
  EXPECT_TRUE(moved.map().translate(0x100000, 0x2000));
}

TEST(MappedGuestMemory, RefusesRegionsBeyondTheFileAndMismatchedFds) {
  UniqueFd ram = guest_ram(0x2000);
  const int fds[] = {ram.get()};
  const vhost_user::MemoryRegion too_long[] = {{0, 0x3000, 0, 0}};
  EXPECT_FALSE(MappedGuestMemory::map(too_long, fds).ok());
  const vhost_user::MemoryRegion offset_past[] = {{0, 0x1000, 0, 0x2000}};
  EXPECT_FALSE(MappedGuestMemory::map(offset_past, fds).ok());
  const vhost_user::MemoryRegion wrapping[] = {{0, 0x1000, 0, UINT64_MAX - 0xfff}};
  EXPECT_FALSE(MappedGuestMemory::map(wrapping, fds).ok());
  const vhost_user::MemoryRegion empty[] = {{0, 0, 0, 0}};
  EXPECT_FALSE(MappedGuestMemory::map(empty, fds).ok());
  const vhost_user::MemoryRegion two[] = {{0, 0x1000, 0, 0}, {0x1000, 0x1000, 0x1000, 0x1000}};
  EXPECT_FALSE(MappedGuestMemory::map(two, fds).ok()) << "one fd for two regions";
  const vhost_user::MemoryRegion overlapping[] = {{0, 0x1000, 0, 0}, {0x800, 0x1000, 0x1000, 0x1000}};
  const int both[] = {ram.get(), ram.get()};
  EXPECT_FALSE(MappedGuestMemory::map(overlapping, both).ok());
  const int bad_fd[] = {-1};
  const vhost_user::MemoryRegion one[] = {{0, 0x1000, 0, 0}};
  EXPECT_FALSE(MappedGuestMemory::map(one, bad_fd).ok());
}

}  // namespace
}  // namespace bulwark::virtio
