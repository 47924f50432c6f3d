#include "jailer/tpm_report_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "attestation/report_signature.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

Result<std::string> read_report_key(const std::string& path, const std::string& field) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno(field + ": open " + path, errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno(field + ": stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Error(field + ": " + path + " is not a regular file");
  if (st.st_uid != 0) {
    return Error(field + ": " + path + " is owned by uid " + std::to_string(st.st_uid) +
                 ", not root: the host's attestation key must be root's alone");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(field + ": " + path + " has mode " + mode +
                 ": group or others may access it; the host's attestation key must be readable by root "
                 "alone (chmod 600)");
  }
  if (static_cast<uint64_t>(st.st_size) > attestation::kMaxKeyPemBytes) return Error(field + ": larger than 64 KiB");
  std::string pem(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = ::read(fd.get(), pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(field + ": read " + path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  pem.resize(done);
  // A key that cannot sign is refused now, not at the first measured launch's end.
  if (auto probe = attestation::report_public_key_pem(pem); !probe.ok()) return probe.error().wrap(field + ": " + path);
  return pem;
}

}  // namespace bulwark::jail
