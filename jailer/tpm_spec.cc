#include "jailer/tpm_spec.h"

#include "jailer/device_spec.h"

namespace bulwark::jail {

namespace {

// swtpm's memory: libtpms's state and OpenSSL; a few MiB in practice.
constexpr uint64_t kSwtpmMemoryBytes = uint64_t{64} << 20;
constexpr uint64_t kSwtpmPidsMax = 4;
// Its state files (tpm2-00.permall with the EK, NVRAM and its certificates) are tens of KiB;
// libtpms caps NVRAM well below this.
constexpr uint64_t kSwtpmFileBytes = uint64_t{16} << 20;

}  // namespace

JailSpec build_tpm_spec(const LaunchConfig& config, const MonitorLaunchOptions& options, const TpmLaunch& tpm) {
  JailSpec spec = build_helper_process_spec(config.jail, options, "tpm", tpm.swtpm_path, "swtpm");
  spec.writable_dirs.push_back({tpm.state_dir, kTpmStateJailPath});
  spec.argv = {"swtpm", "socket", "--tpm2",
               "--tpmstate", std::string("dir=") + kTpmStateJailPath,
               "--server", "type=unixio,fd=" + std::to_string(kSwtpmDataFd),
               "--ctrl", "type=unixio,fd=" + std::to_string(kSwtpmControlFd),
               // The launcher sends TPM2_Startup itself (the measured launch begins with it).
               "--flags", "not-need-init"};
  spec.limits.memory_bytes = kSwtpmMemoryBytes;
  spec.limits.pids_max = kSwtpmPidsMax;
  spec.rlimits.nofile = 32;
  spec.rlimits.nproc = kSwtpmPidsMax;
  spec.rlimits.fsize = kSwtpmFileBytes;
  spec.fds = {{tpm.null_fd, 0},
              {tpm.stderr_fd >= 0 ? tpm.stderr_fd : 2, 1},
              {tpm.stderr_fd >= 0 ? tpm.stderr_fd : 2, 2},
              {tpm.data_fd, kSwtpmDataFd},
              {tpm.control_fd, kSwtpmControlFd}};
  spec.seccomp_program = tpm.seccomp_program;
  return spec;
}

}  // namespace bulwark::jail
