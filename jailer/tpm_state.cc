#include "jailer/tpm_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "bulwark/common/log.h"
#include "bulwark/common/unique_fd.h"
#include "jailer/jail_dir.h"

namespace bulwark::jail {

namespace {

// swtpm_setup, waited for; its output goes to the launcher's stderr (the operator's log).
Status run_swtpm_setup(const std::string& binary, const std::string& dir) {
  const std::vector<std::string> args = {binary, "--tpm2", "--tpmstate", dir, "--pcr-banks", "sha256,sha384",
                                         "--create-ek-cert", "--create-platform-cert", "--lock-nvram",
                                         "--not-overwrite"};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork for swtpm_setup", errno);
  if (pid == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // its progress lines are log lines, not the console
    char path_env[] = "PATH=/usr/bin:/bin";  // it runs swtpm and swtpm_localca by name
    char* env[] = {path_env, nullptr};
    ::execve(argv[0], argv.data(), env);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::from_errno("wait for swtpm_setup", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(binary + " failed (" +
                 (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                    : "signal " + std::to_string(WTERMSIG(status))) +
                 ")");
  }
  return ok_status();
}

Status make_root_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return ok_status();
  if (errno != EEXIST) return Error::from_errno("mkdir " + path, errno);
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path, errno);
  if (!S_ISDIR(st.st_mode)) return Error(path + ": not a directory");
  if (st.st_uid != 0) return Error(path + ": not root's (the operator's state directory must be)");
  return ok_status();
}

// The directory and each regular file in it to uid/gid, by fd (nothing followed).
Status hand_over(const std::string& path, uid_t uid, gid_t gid) {
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return Error::from_errno("open " + path, errno);
  if (::fchown(dir.get(), uid, gid) != 0 || ::fchmod(dir.get(), 0700) != 0) {
    return Error::from_errno("chown " + path, errno);
  }
  const int listing = ::dup(dir.get());
  if (listing < 0) return Error::from_errno("dup", errno);
  DIR* entries = ::fdopendir(listing);
  if (entries == nullptr) {
    ::close(listing);
    return Error::from_errno("list " + path, errno);
  }
  Status result = ok_status();
  while (const dirent* entry = ::readdir(entries)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    UniqueFd file(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat st{};
    if (!file.valid() || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      result = Error(path + "/" + name + ": not a regular file; the TPM state directory holds only swtpm's files");
      break;
    }
    // A hard link a previous swtpm made to a file elsewhere would be handed over with it.
    if (st.st_nlink != 1) {
      result = Error(path + "/" + name + ": has other links; the TPM state directory holds only swtpm's files");
      break;
    }
    if (::fchown(file.get(), uid, gid) != 0) {
      result = Error::from_errno("chown " + path + "/" + name, errno);
      break;
    }
  }
  ::closedir(entries);
  return result;
}

}  // namespace

Status return_tpm_state(const std::string& path) { return hand_over(path, 0, 0); }

Result<TpmStateDir> prepare_tpm_state(const TpmHostConfig& tpm, const std::string& vm_id, uid_t uid, gid_t gid) {
  BULWARK_TRY(make_root_dir(tpm.state_dir, 0711));
  TpmStateDir state;
  state.path = tpm.state_dir + "/" + vm_id;
  struct stat st{};
  if (::lstat(state.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error::from_errno("stat " + state.path, errno);
    const std::string fresh = tpm.state_dir + "/." + vm_id + ".new";
    BULWARK_TRY(remove_tree(fresh));
    BULWARK_TRY(make_root_dir(fresh, 0700));
    const std::string setup = tpm.swtpm_setup.empty() ? kDefaultSwtpmSetup : tpm.swtpm_setup;
    if (Status s = run_swtpm_setup(setup, fresh); !s.ok()) {
      (void)remove_tree(fresh);
      return s.error();
    }
    if (::rename(fresh.c_str(), state.path.c_str()) != 0) return Error::from_errno("rename to " + state.path, errno);
    state.created = true;
    log::info("VM " + vm_id + ": TPM state created in " + state.path + " (EK and certificates from swtpm_setup's local CA)");
  } else if (!S_ISDIR(st.st_mode)) {
    return Error(state.path + ": not a directory");
  }
  BULWARK_TRY(hand_over(state.path, uid, gid));
  return state;
}

}  // namespace bulwark::jail
