// `bulwark attest reference`: the tenant's own files (kernel, initrd, command line, policies,
// binaries) to a reference file for `bulwark attest verify`, computed without launching.

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "attestation/event_log.h"
#include "attestation/launch_reference.h"
#include "jailer/attest_cli/attest_command.h"
#include "jailer/attest_cli/attest_options.h"
#include "jailer/attest_cli/evidence_files.h"
#include "jailer/vm_tpm.h"

namespace bulwark::attest_cli {

namespace {

namespace at = attestation;

// The launcher refuses inputs above 1 GiB; so does the reference.
constexpr size_t kMaxMeasuredFileBytes = size_t{1} << 30;

Result<at::Sha256> file_sha256(const std::string& path) {
  auto bytes = read_bounded_file(path, kMaxMeasuredFileBytes);
  if (!bytes.ok()) return bytes.error();
  auto digests = at::measure(*bytes);
  if (!digests.ok()) return digests.error();
  return digests->sha256;
}

// NAME=FILE
Result<std::pair<std::string, std::string>> split_pair(const std::string& text, const std::string& flag) {
  const size_t eq = text.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == text.size()) return Error(flag + ": expected NAME=FILE");
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

Result<at::Reference> build_reference(const AttestOptions& options) {
  at::Reference reference;
  auto kernel = file_sha256(options.get("--kernel"));
  if (!kernel.ok()) return kernel.error().wrap("--kernel");
  reference.kernel = *kernel;
  if (options.has("--initrd")) {
    auto initrd = file_sha256(options.get("--initrd"));
    if (!initrd.ok()) return initrd.error().wrap("--initrd");
    reference.initrd = *initrd;
  }
  reference.cmdline = options.get("--cmdline");
  if (options.has("--vm-config")) {
    // Canonical as the launcher measures it (jailer/launch_measurements.h): keys sorted, no whitespace.
    auto bytes = read_bounded_file(options.get("--vm-config"), at::kMaxReferenceBytes);
    if (!bytes.ok()) return bytes.error().wrap("--vm-config");
    const nlohmann::json doc = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return Error("--vm-config: not a JSON object");
    const std::string canonical = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto digests = at::measure(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()));
    if (!digests.ok()) return digests.error();
    reference.vm_config = digests->sha256;
  }
  if (options.has("--policy-dir")) {
    const std::string dir = options.get("--policy-dir");
    auto names = jail::measured_policy_files(dir);
    if (!names.ok()) return names.error().wrap("--policy-dir");
    for (const std::string& name : *names) {
      auto digest = file_sha256(dir + "/" + name);
      if (!digest.ok()) return digest.error().wrap("--policy-dir");
      reference.isolation["seccomp " + name.substr(0, name.size() - 7)] = *digest;
    }
  }
  for (const char* flag : {"--binary", "--item"}) {
    if (!options.has(flag)) continue;
    for (const std::string& value : options.values.at(flag)) {
      auto pair = split_pair(value, flag);
      if (!pair.ok()) return pair.error();
      auto digest = file_sha256(pair->second);
      if (!digest.ok()) return digest.error().wrap(flag);
      const std::string item = std::string(flag) == "--binary" ? "binary " + pair->first : pair->first;
      reference.isolation[item] = *digest;
    }
  }
  // What the verifier would refuse, refused here.
  auto round_trip = at::parse_reference(at::reference_json(reference));
  if (!round_trip.ok()) return round_trip.error();
  return reference;
}

}  // namespace

int run_attest_reference(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err) {
  auto options =
      parse_attest_options(args, {"--kernel", "--initrd", "--cmdline", "--vm-config", "--policy-dir", "--binary", "--item", "--out"},
                           {"--binary", "--item"}, {"--kernel", "--cmdline"});
  if (!options.ok()) {
    std::fprintf(err, "bulwark attest reference: %s\n", options.error().message().c_str());
    return kAttestExitUsage;
  }
  auto reference = build_reference(*options);
  if (!reference.ok()) {
    std::fprintf(err, "bulwark attest reference: %s\n", reference.error().message().c_str());
    return kAttestExitError;
  }
  const std::string json = at::reference_json(*reference);
  if (!options->has("--out")) {
    std::fputs(json.c_str(), out);
    return kAttestExitOk;
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(json.data()), json.size());
  if (Status s = write_file(options->get("--out"), bytes); !s.ok()) {
    std::fprintf(err, "bulwark attest reference: %s\n", s.error().message().c_str());
    return kAttestExitError;
  }
  return kAttestExitOk;
}

}  // namespace bulwark::attest_cli
