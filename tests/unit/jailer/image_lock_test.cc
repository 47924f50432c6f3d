// Image locks (jailer/image_lock.h): a second writer is refused naming the VM that holds the
// image, readers share, and the locks are QEMU's: qemu-img and qemu-io refuse an image a VM
// holds, and Bulwark refuses one qemu-io holds. Two open file descriptions of one image stand
// for two launchers (OFD locks belong to the description, not the process).
#include "jailer/image_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jailer/ids/host_reservation.h"
#include "jailer/svirt/label_memory.h"
#include "tests/unit/ids/temp_dir.h"

namespace bulwark::jail {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

class ImageLockTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    image_ = tmp_.path() / "disk.img";
    std::ofstream(image_) << std::string(1 << 20, '\0');
    records_ = tmp_.path() / "images";
  }
  UniqueFd open_image(int flags = O_RDWR) {
    UniqueFd fd(::open(image_.c_str(), flags | O_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    return fd;
  }
  Result<ImageLock> lock(int fd, ImageLockMode mode, const std::string& vm) {
    return ImageLock::acquire(fd, "\"" + image_ + "\"", mode, vm, records_);
  }
  size_t record_count() {
    if (!fs::exists(records_)) return 0;
    size_t n = 0;
    for (const auto& image_dir : fs::directory_iterator(records_)) {
      for (const auto& record : fs::directory_iterator(image_dir)) n += record.is_regular_file();
    }
    return n;
  }

  TempDir tmp_;
  std::string image_;
  std::string records_;
};

TEST_F(ImageLockTest, ASecondWriterIsRefusedNamingTheVmThatHoldsIt) {
  UniqueFd first_fd = open_image();
  auto first = lock(first_fd.get(), ImageLockMode::kReadWrite, "vm-a");
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(record_count(), 1u);

  UniqueFd second_fd = open_image();
  auto second = lock(second_fd.get(), ImageLockMode::kReadWrite, "vm-b");
  ASSERT_FALSE(second.ok());
  const std::string& message = second.error().message();
  EXPECT_NE(message.find("\"" + image_ + "\""), std::string::npos) << message;
  EXPECT_NE(message.find("in use by VM \"vm-a\" (read-write)"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot be attached read-write"), std::string::npos) << message;
  // Nor as a reader: the writer shares no consistent view.
  UniqueFd reader_fd = open_image(O_RDONLY);
  auto reader = lock(reader_fd.get(), ImageLockMode::kReadOnly, "vm-c");
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.error().message().find("VM \"vm-a\""), std::string::npos);
  // The refused ones left no record and no lock behind.
  EXPECT_EQ(record_count(), 1u);

  // Released: the record goes, and the next writer gets it once the old description closes.
  first->release();
  first_fd.reset();
  EXPECT_EQ(record_count(), 0u);
  auto again = lock(second_fd.get(), ImageLockMode::kReadWrite, "vm-b");
  EXPECT_TRUE(again.ok()) << again.error().message();
}

TEST_F(ImageLockTest, ReadersShareAndKeepWritersOut) {
  UniqueFd a_fd = open_image(O_RDONLY), b_fd = open_image(O_RDONLY);
  auto a = lock(a_fd.get(), ImageLockMode::kReadOnly, "vm-a");
  auto b = lock(b_fd.get(), ImageLockMode::kReadOnly, "vm-b");
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok()) << b.error().message();
  UniqueFd w_fd = open_image();
  auto writer = lock(w_fd.get(), ImageLockMode::kReadWrite, "vm-w");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message().find("VM \"vm-a\" (read-only)"), std::string::npos)
      << writer.error().message();
  EXPECT_NE(writer.error().message().find("VM \"vm-b\" (read-only)"), std::string::npos)
      << writer.error().message();
}

// The lock is the description's: a dup (the fd the device process gets) holds it even after
// the launcher's own fds are gone.
TEST_F(ImageLockTest, ADupOfTheImageFdKeepsTheLock) {
  UniqueFd fd = open_image();
  UniqueFd device_copy(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  {
    auto held = lock(fd.get(), ImageLockMode::kReadWrite, "vm-a");
    ASSERT_TRUE(held.ok()) << held.error().message();
  }
  fd.reset();
  UniqueFd other = open_image();
  auto conflict = image_lock_conflict(other.get(), ImageLockMode::kReadWrite);
  ASSERT_TRUE(conflict.ok());
  EXPECT_NE(*conflict, "") << "the lock went with the launcher's fd";
  device_copy.reset();
  conflict = image_lock_conflict(other.get(), ImageLockMode::kReadWrite);
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(*conflict, "");
}

TEST_F(ImageLockTest, UntrustedRecordsAreNotEchoedAndStaleOnesGo) {
  // A record a killed launcher left, and junk someone put beside it.
  struct stat st{};
  ASSERT_EQ(::stat(image_.c_str(), &st), 0);
  const std::string dir = records_ + "/" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino);
  fs::create_directories(dir);
  std::ofstream(dir + "/vm-dead") << "read-write\n";
  std::ofstream(dir + "/bad name\x1b[31m") << "read-write\n";
  std::ofstream(dir + "/vm-junk") << "\x1b]0;owned\x07";
  EXPECT_TRUE(image_holders(records_, st.st_dev, st.st_ino, "").size() == 1);
  UniqueFd fd = open_image();
  auto held = lock(fd.get(), ImageLockMode::kReadWrite, "vm-a");
  ASSERT_TRUE(held.ok()) << held.error().message();
  EXPECT_FALSE(fs::exists(dir + "/vm-dead")) << "a stale record survived a successful lock";
  const auto holders = image_holders(records_, st.st_dev, st.st_ino, "");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0], "VM \"vm-a\" (read-write)");
}

// --- QEMU interoperation (qemu-utils). ---

struct ToolRun {
  int status = -1;
  std::string output;
};

ToolRun run_tool(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::alarm(30);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ToolRun result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  ::waitpid(pid, &result.status, 0);
  return result;
}

bool have(const char* tool) {
  return run_tool({"sh", "-c", std::string("command -v ") + tool}).status == 0;
}

TEST_F(ImageLockTest, QemuRefusesAnImageAVmHoldsReadWrite) {
  if (!have("qemu-img") || !have("qemu-io")) GTEST_SKIP() << "qemu-utils not installed";
  // qemu-img info on a qcow2 image a VM writes: refused (it needs a consistent view of the
  // metadata; QEMU's raw driver, as a reader, lets writers be, so info on a raw image passes).
  const std::string qcow2 = tmp_.path() / "disk.qcow2";
  ASSERT_EQ(run_tool({"qemu-img", "create", "-q", "-f", "qcow2", qcow2, "1M"}).status, 0);
  UniqueFd qcow2_fd(::open(qcow2.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(qcow2_fd.valid());
  auto qcow2_held = ImageLock::acquire(qcow2_fd.get(), "qcow2", ImageLockMode::kReadWrite, "vm-q", records_);
  ASSERT_TRUE(qcow2_held.ok()) << qcow2_held.error().message();
  ToolRun info = run_tool({"qemu-img", "info", qcow2});
  EXPECT_NE(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("Failed to get shared \"write\" lock"), std::string::npos) << info.output;

  UniqueFd fd = open_image();
  auto held = lock(fd.get(), ImageLockMode::kReadWrite, "vm-a");
  ASSERT_TRUE(held.ok()) << held.error().message();
  ToolRun write = run_tool({"qemu-io", "-f", "raw", "-c", "write 0 512", image_});
  EXPECT_NE(write.output.find("Failed to get \"write\" lock"), std::string::npos) << write.output;
  EXPECT_EQ(write.output.find("wrote 512"), std::string::npos) << write.output;
  held->release();
  fd.reset();
  ToolRun after = run_tool({"qemu-io", "-f", "raw", "-c", "write 0 512", image_});
  EXPECT_NE(after.output.find("wrote 512"), std::string::npos) << after.output;
}

TEST_F(ImageLockTest, QemuMayInspectButNotWriteAnImageAVmHoldsReadOnly) {
  if (!have("qemu-img") || !have("qemu-io")) GTEST_SKIP() << "qemu-utils not installed";
  UniqueFd fd = open_image(O_RDONLY);
  auto held = lock(fd.get(), ImageLockMode::kReadOnly, "vm-a");
  ASSERT_TRUE(held.ok()) << held.error().message();
  ToolRun info = run_tool({"qemu-img", "info", "-f", "raw", image_});
  EXPECT_EQ(info.status, 0) << info.output;
  ToolRun write = run_tool({"qemu-io", "-f", "raw", "-c", "write 0 512", image_});
  EXPECT_NE(write.output.find("Failed to get \"write\" lock"), std::string::npos) << write.output;
}

TEST_F(ImageLockTest, BulwarkRefusesAnImageQemuHolds) {
  if (!have("qemu-io")) GTEST_SKIP() << "qemu-utils not installed";
  // qemu-io in interactive mode keeps the image open (read-write, locked) until its stdin ends.
  int stdin_pipe[2];
  ASSERT_EQ(::pipe2(stdin_pipe, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(stdin_pipe[0], 0);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::execlp("qemu-io", "qemu-io", "-f", "raw", image_.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(stdin_pipe[0]);
  UniqueFd probe = open_image(O_RDONLY);
  bool locked = false;
  for (int i = 0; i < 500 && !locked; ++i) {
    auto conflict = image_lock_conflict(probe.get(), ImageLockMode::kReadWrite);
    locked = conflict.ok() && !conflict->empty();
    if (!locked) ::usleep(10000);
  }
  EXPECT_TRUE(locked) << "qemu-io never locked the image";

  UniqueFd fd = open_image();
  auto writer = lock(fd.get(), ImageLockMode::kReadWrite, "vm-a");
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message().find("a program that keeps no Bulwark record"), std::string::npos)
      << writer.error().message();
  auto reader = lock(probe.get(), ImageLockMode::kReadOnly, "vm-a");
  EXPECT_FALSE(reader.ok()) << "a read-only VM shares its image with a writer";
  EXPECT_EQ(record_count(), 0u);

  ::close(stdin_pipe[1]);  // qemu-io sees EOF and exits
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto after = lock(fd.get(), ImageLockMode::kReadWrite, "vm-a");
  EXPECT_TRUE(after.ok()) << after.error().message();
}

// One record, not two: while sVirt labels files, the lock writes no holder record and a refusal
// names the holders label memory lists (trusted.bulwark.label on the image itself).
TEST_F(ImageLockTest, WithLabelMemoryTheHoldersComeFromItsRecordAndNoOtherIsWritten) {
  if (::geteuid() != 0) GTEST_SKIP() << "trusted.* xattrs need root";
  const fs::path run = tmp_.path() / "run";
  auto vms = jailer::ReservationDirectory::open_or_create(run / "vms");
  ASSERT_TRUE(vms.ok());
  auto a_running = jailer::HostReservation::try_claim(*vms, "vm-a.lock", "vm-a");
  ASSERT_TRUE(a_running.ok() && a_running->has_value());
  jailer::LabelMemory a_labels(run, "vm-a");
  UniqueFd a_fd = open_image();
  auto a_lock = ImageLock::acquire(a_fd.get(), "a", ImageLockMode::kReadWrite, "vm-a", "",
                                   [&](int fd) { return jailer::label_record_holders(fd, "vm-a", run); });
  ASSERT_TRUE(a_lock.ok()) << a_lock.error().message();
  auto labelled = a_labels.acquire(a_fd.get(), "a", "system_u:object_r:bulwark_image_t:s0:c1,c2",
                                   jailer::LabelAccess::kReadWrite);
  if (labelled.ok() && *labelled == jailer::LabelOutcome::kFilesystemRefused)
    GTEST_SKIP() << "no xattrs on this filesystem";
  ASSERT_TRUE(labelled.ok()) << labelled.error().message();

  UniqueFd b_fd = open_image();
  auto b_lock = ImageLock::acquire(b_fd.get(), "\"disk.img\"", ImageLockMode::kReadWrite, "vm-b", "",
                                   [&](int fd) { return jailer::label_record_holders(fd, "vm-b", run); });
  ASSERT_FALSE(b_lock.ok());
  EXPECT_NE(b_lock.error().message().find("\"disk.img\": refused: the image is in use by VM "
                                          "\"vm-a\" (read-write)"),
            std::string::npos)
      << b_lock.error().message();
  EXPECT_EQ(record_count(), 0u) << "a second holder record was written";
}

}  // namespace
}  // namespace bulwark::jail
