#include "jailer/api/metrics_file.h"

#include <unistd.h>

#include "jailer/api/output_file.h"

namespace bulwark::jail {

Result<MetricsFile> MetricsFile::open(const std::string& path) {
  auto fd = open_output_file(path, "metrics_path");
  if (!fd.ok()) return fd.error();
  MetricsFile file;
  file.fd_ = std::move(*fd);
  return file;
}

void MetricsFile::append(const std::string& json_line) {
  const std::string line = json_line + "\n";
  const ssize_t n = ::write(fd_.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) ++dropped_;
}

}  // namespace bulwark::jail
