#include "devices/blk/qcow2_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "devices/blk/blk_request.h"
#include "devices/blk/qcow2/qcow2_image.h"

namespace bulwark::blk {

namespace {

// The qcow2 library's file: pread/pwrite on the fd the launcher passed, growing at most to
// `max_size` (RLIMIT_FSIZE is the kernel's copy of the same bound).
class FdImageFile final : public qcow2::ImageFile {
 public:
  FdImageFile(UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status read_at(uint64_t offset, std::span<uint8_t> data) override {
    if (offset > size_ || data.size() > size_ - offset) return Error("read past the end of the image file");
    size_t done = 0;
    while (done < data.size()) {
      // preadv/pwritev, not pread/pwrite: the calls dev-blk.policy already allows for raw disks.
      iovec io{data.data() + done, data.size() - done};
      const ssize_t n = ::preadv(fd_.get(), &io, 1, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno("read of the image file", errno);
      if (n == 0) return Error("read past the end of the image file");
      done += static_cast<size_t>(n);
    }
    return ok_status();
  }
  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    size_t done = 0;
    while (done < data.size()) {
      iovec io{const_cast<uint8_t*>(data.data()) + done, data.size() - done};
      const ssize_t n = ::pwritev(fd_.get(), &io, 1, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno("write of the image file", errno);
      done += static_cast<size_t>(n);
    }
    size_ = std::max(size_, offset + data.size());
    return ok_status();
  }
  Status flush() override {
    if (::fdatasync(fd_.get()) != 0) return Error::from_errno("flush of the image file", errno);
    return ok_status();
  }

 private:
  UniqueFd fd_;
  uint64_t size_;
};

// A raw member of a chain, read-only; past its end reads as zeros (an overlay may be larger).
class RawBacking final : public qcow2::BackingReader {
 public:
  RawBacking(UniqueFd fd, uint64_t size) : file_(std::move(fd), size), size_(size) {}
  uint64_t virtual_size() const override { return size_; }
  Status read(uint64_t offset, std::span<uint8_t> data) override {
    size_t inside = 0;
    if (offset < size_) inside = static_cast<size_t>(std::min<uint64_t>(data.size(), size_ - offset));
    if (inside > 0) BULWARK_TRY(file_.read_at(offset, data.first(inside)));
    std::fill(data.begin() + static_cast<std::ptrdiff_t>(inside), data.end(), 0);
    return ok_status();
  }

 private:
  FdImageFile file_;
  uint64_t size_;
};

// A qcow2 member read through the library, reads past its virtual size as zeros.
class Qcow2Member final : public qcow2::BackingReader {
 public:
  Qcow2Member(std::unique_ptr<FdImageFile> file, std::unique_ptr<qcow2::Image> image)
      : file_(std::move(file)), image_(std::move(image)) {}
  uint64_t virtual_size() const override { return image_->virtual_size(); }
  Status read(uint64_t offset, std::span<uint8_t> data) override {
    const uint64_t size = image_->virtual_size();
    size_t inside = 0;
    if (offset < size) inside = static_cast<size_t>(std::min<uint64_t>(data.size(), size - offset));
    if (inside > 0) BULWARK_TRY(image_->read(offset, data.first(inside)));
    std::fill(data.begin() + static_cast<std::ptrdiff_t>(inside), data.end(), 0);
    return ok_status();
  }
  qcow2::Image& image() { return *image_; }

 private:
  std::unique_ptr<FdImageFile> file_;  // declared first: outlives the image that uses it
  std::unique_ptr<qcow2::Image> image_;
};

class Qcow2Disk final : public DiskBackend {
 public:
  Qcow2Disk(std::vector<std::unique_ptr<qcow2::BackingReader>> chain, std::unique_ptr<Qcow2Member> top)
      : chain_(std::move(chain)), top_(std::move(top)) {}
  ~Qcow2Disk() override {
    top_.reset();  // before the backing readers it reads through
    while (!chain_.empty()) chain_.erase(chain_.begin());  // nearest first: each reads the next
  }
  uint64_t size() const override { return top_->virtual_size() / kSectorSize * kSectorSize; }
  bool read(uint64_t offset, const std::vector<std::span<uint8_t>>& buffers) override {
    for (std::span<uint8_t> buffer : buffers) {
      if (!top_->image().read(offset, buffer).ok()) return false;
      offset += buffer.size();
    }
    return true;
  }
  bool write(uint64_t offset, const std::vector<std::span<const uint8_t>>& buffers) override {
    for (std::span<const uint8_t> buffer : buffers) {
      if (!top_->image().write(offset, buffer).ok()) return false;
      offset += buffer.size();
    }
    return true;
  }
  bool flush() override { return top_->image().flush().ok(); }
  bool discard(uint64_t offset, uint64_t length) override { return top_->image().discard(offset, length).ok(); }
  bool write_zeroes(uint64_t offset, uint64_t length) override {
    return top_->image().write_zeroes(offset, length).ok();
  }

 private:
  std::vector<std::unique_ptr<qcow2::BackingReader>> chain_;  // nearest first
  std::unique_ptr<Qcow2Member> top_;
};

Result<uint64_t> file_size(int fd) {
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return Error::from_errno("size of the image", errno);
  return static_cast<uint64_t>(end);
}

// "text" with bytes outside printable ASCII, '"' and '\\' as \xNN: header bytes are the tenant's.
std::string quoted(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 4096; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

Result<std::unique_ptr<Qcow2Member>> open_member(ChainMember& member, qcow2::BackingReader* backing,
                                                 const std::string* next_path, bool read_only,
                                                 const Qcow2DiskOptions& options) {
  auto size = file_size(member.fd.get());
  if (!size.ok()) return size.error().wrap(quoted(member.path));
  auto file = std::make_unique<FdImageFile>(std::move(member.fd), *size);
  // The header first, to check what it names before the image is opened on a backing reader.
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(*size, qcow2::kHeaderReadBytes)));
  if (Status s = file->read_at(0, head); !s.ok()) return s.error().wrap(quoted(member.path));
  auto header = qcow2::parse_header(head, *size);
  if (!header.ok()) return header.error().wrap(quoted(member.path));
  if (next_path == nullptr && !header->backing_name.empty()) {
    return Error(quoted(member.path) + ": its header names the backing file " + quoted(header->backing_name) +
                 ", which the VM config does not list (a backing chain is the config's, never the image's say-so)");
  }
  if (next_path != nullptr) {
    if (header->backing_name.empty()) {
      return Error(quoted(member.path) + ": the VM config gives it the backing image " + quoted(*next_path) +
                   " but its header names none");
    }
    if (resolve_backing_name(member.path, header->backing_name) != *next_path) {
      return Error(quoted(member.path) + ": its header names the backing file " + quoted(header->backing_name) +
                   ", not " + quoted(*next_path) + " that the VM config lists next: refused");
    }
  }
  qcow2::OpenOptions open;
  open.read_only = read_only;
  open.l2_cache_bytes = options.l2_cache_bytes;
  open.refcount_cache_bytes = options.refcount_cache_bytes;
  open.backing = backing;
  auto image = qcow2::Image::open(*file, open);
  if (!image.ok()) return image.error().wrap(quoted(member.path));
  return std::make_unique<Qcow2Member>(std::move(file), std::move(*image));
}

}  // namespace

std::string resolve_backing_name(const std::string& member_path, const std::string& name) {
  if (name.empty() || name.find('\0') != std::string::npos) return "";
  std::string joined = name;
  if (name.front() != '/') {
    const size_t slash = member_path.rfind('/');
    if (slash == std::string::npos) return "";
    joined = member_path.substr(0, slash + 1) + name;
  }
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string resolved;
  for (const std::string& part : parts) resolved += "/" + part;
  return resolved.empty() ? "" : resolved;
}

Result<std::unique_ptr<DiskBackend>> open_qcow2_disk(ChainMember top, std::vector<ChainMember> backing,
                                                     const Qcow2DiskOptions& options) {
  if (top.format != DiskFormat::kQcow2) return Error("open_qcow2_disk: the top image is not qcow2");
  const int mode = ::fcntl(top.fd.get(), F_GETFL);
  if (mode < 0) return Error::from_errno("image fd", errno);
  if (!options.read_only && (mode & O_ACCMODE) == O_RDONLY) {
    return Error("the image fd is open read-only; pass --read-only");
  }
  if (backing.size() > kMaxBackingDepth) {
    return Error("a backing chain of " + std::to_string(backing.size()) + " images: at most " +
                 std::to_string(kMaxBackingDepth));
  }
  // Loops and repeats: the same file twice in a chain is refused (by device and inode of the
  // fds, never by a path).
  std::vector<std::pair<dev_t, ino_t>> seen;
  for (const ChainMember* member = &top;;) {
    struct stat st{};
    if (::fstat(member->fd.get(), &st) != 0) return Error::from_errno("fstat " + quoted(member->path), errno);
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
      return Error(quoted(member->path) + " appears twice in the backing chain: a loop");
    }
    seen.push_back(id);
    const size_t index = seen.size() - 1;
    if (index >= backing.size()) break;
    member = &backing[index];
  }
  // Open from the bottom up: each member reads through the one after it.
  std::vector<std::unique_ptr<qcow2::BackingReader>> chain(backing.size());
  qcow2::BackingReader* below = nullptr;
  for (size_t i = backing.size(); i-- > 0;) {
    ChainMember& member = backing[i];
    const std::string* next = i + 1 < backing.size() ? &backing[i + 1].path : nullptr;
    if (member.format == DiskFormat::kRaw && next != nullptr) {
      return Error(quoted(member.path) + " is raw: it cannot have a backing image (" + quoted(*next) + ")");
    }
    if (member.format == DiskFormat::kRaw) {
      auto size = file_size(member.fd.get());
      if (!size.ok()) return size.error().wrap(quoted(member.path));
      chain[i] = std::make_unique<RawBacking>(std::move(member.fd), *size);
    } else {
      auto opened = open_member(member, below, next, true, options);
      if (!opened.ok()) return opened.error().wrap("backing image " + std::to_string(i + 1));
      chain[i] = std::move(*opened);
    }
    below = chain[i].get();
  }
  const std::string* next = backing.empty() ? nullptr : &backing[0].path;
  auto opened = open_member(top, below, next, options.read_only, options);
  if (!opened.ok()) return opened.error();
  if (options.max_virtual_size != 0 && (*opened)->virtual_size() > options.max_virtual_size) {
    return Error(quoted(top.path) + ": its virtual size " + std::to_string((*opened)->virtual_size()) +
                 " bytes is above the operator's ceiling " + std::to_string(options.max_virtual_size));
  }
  return std::unique_ptr<DiskBackend>(std::make_unique<Qcow2Disk>(std::move(chain), std::move(*opened)));
}

}  // namespace bulwark::blk
