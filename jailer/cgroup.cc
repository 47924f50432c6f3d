#include "jailer/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "bulwark/common/unique_fd.h"

namespace bulwark::jail {

namespace {

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::from_errno("read " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// mkdir -p for <base>/<relative>; creates missing components only. `on_create` runs for each
// new directory (v1 cpuset must be given CPUs and memory nodes before it can hold tasks).
template <typename OnCreate>
Status make_parents(const std::string& base, const std::string& relative, OnCreate on_create) {
  std::string path = base;
  size_t start = 0;
  while (start < relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    const std::string above = path;
    path += "/" + relative.substr(start, end - start);
    if (::mkdir(path.c_str(), 0755) == 0) {
      BULWARK_TRY(on_create(above, path));
    } else if (errno != EEXIST) {
      return Error::from_errno("mkdir " + path, errno);
    }
    start = end + 1;
  }
  return ok_status();
}

Status copy_cpuset_from(const std::string& above, const std::string& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto value = read_small_file(above + "/" + file);
    if (!value.ok()) return value.error();
    BULWARK_TRY(write_existing_file(dir + "/" + file, *value));
  }
  return ok_status();
}

Status no_setup(const std::string&, const std::string&) { return ok_status(); }

Status make_leaf(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return ok_status();
  if (errno == EEXIST) return Error(dir + ": already exists (another VM with this id?)");
  return Error::from_errno("mkdir " + dir, errno);
}

Status remove_dir_retrying(const std::string& dir) {
  // After the last task is reaped the kernel may still hold the cgroup for a moment.
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok_status();
    if (errno != EBUSY || attempt >= 200) return Error::from_errno("rmdir " + dir, errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status write_v1_limits(const std::string& controller, const std::string& dir,
                       const CgroupLimits& limits) {
  if (controller == "memory" && limits.memory_bytes != 0) {
    BULWARK_TRY(write_existing_file(dir + "/memory.limit_in_bytes", std::to_string(limits.memory_bytes)));
  } else if (controller == "pids" && limits.pids_max != 0) {
    BULWARK_TRY(write_existing_file(dir + "/pids.max", std::to_string(limits.pids_max)));
  } else if (controller == "cpu" && limits.cpu_quota_us != 0) {
    BULWARK_TRY(write_existing_file(dir + "/cpu.cfs_period_us", std::to_string(limits.cpu_period_us)));
    BULWARK_TRY(write_existing_file(dir + "/cpu.cfs_quota_us", std::to_string(limits.cpu_quota_us)));
  } else if (controller == "cpuset") {
    BULWARK_TRY(copy_cpuset_from(dir.substr(0, dir.rfind('/')), dir));
    if (!limits.cpuset.empty()) BULWARK_TRY(write_existing_file(dir + "/cpuset.cpus", limits.cpuset));
  }
  return ok_status();
}

Result<std::vector<std::string>> create_v1(const std::string& root, const std::string& parent,
                           const std::string& id, const CgroupLimits& limits) {
  std::vector<std::string> controllers = {"memory", "pids", "cpu"};
  if (!limits.cpuset.empty()) controllers.push_back("cpuset");
  std::vector<std::string> created;
  auto fail = [&](const Error& e) -> Error {
    for (auto it = created.rbegin(); it != created.rend(); ++it) (void)remove_dir_retrying(*it);
    return e;
  };
  for (const std::string& controller : controllers) {
    const std::string base = root + "/" + controller;
    if (!exists(base + "/cgroup.procs")) {
      return fail(Error("no cgroup v1 " + controller + " controller mounted at " + base));
    }
    Status parents = controller == "cpuset" ? make_parents(base, parent, copy_cpuset_from)
                                            : make_parents(base, parent, no_setup);
    if (!parents.ok()) return fail(parents.error());
    const std::string leaf = base + "/" + parent + "/" + id;
    if (Status s = make_leaf(leaf); !s.ok()) return fail(s.error());
    created.push_back(leaf);
    if (Status s = write_v1_limits(controller, leaf, limits); !s.ok()) return fail(s.error());
  }
  return created;
}

// Enables the controllers the limits need in `dir`'s cgroup.subtree_control.
Status enable_v2_controllers(const std::string& dir, const std::vector<std::string>& needed) {
  auto available = read_small_file(dir + "/cgroup.controllers");
  if (!available.ok()) return available.error();
  const std::string list = " " + *available + " ";
  for (const std::string& controller : needed) {
    if (list.find(" " + controller + " ") == std::string::npos) {
      return Error("cgroup v2 controller " + controller + " is not available in " + dir);
    }
    BULWARK_TRY(write_existing_file(dir + "/cgroup.subtree_control", "+" + controller));
  }
  return ok_status();
}

Result<std::vector<std::string>> create_v2(const std::string& root, const std::string& parent,
                                           const std::string& id, const CgroupLimits& limits) {
  std::vector<std::string> needed;
  if (limits.memory_bytes != 0) needed.push_back("memory");
  if (limits.pids_max != 0) needed.push_back("pids");
  if (limits.cpu_quota_us != 0) needed.push_back("cpu");
  if (!limits.cpuset.empty()) needed.push_back("cpuset");
  // Each level from the root down to the parent must delegate the controllers to its children.
  BULWARK_TRY(enable_v2_controllers(root, needed));
  BULWARK_TRY(make_parents(root, parent, [&](const std::string&, const std::string& dir) {
    return enable_v2_controllers(dir, needed);
  }));
  const std::string parent_dir = root + "/" + parent;
  BULWARK_TRY(enable_v2_controllers(parent_dir, needed));
  const std::string leaf = parent_dir + "/" + id;
  BULWARK_TRY(make_leaf(leaf));
  auto write_limits = [&]() -> Status {
    if (limits.memory_bytes != 0) {
      BULWARK_TRY(write_existing_file(leaf + "/memory.max", std::to_string(limits.memory_bytes)));
      // No swap beyond the limit where the host has swap accounting (the file may not exist).
      (void)write_existing_file(leaf + "/memory.swap.max", "0");
    }
    if (limits.pids_max != 0) {
      BULWARK_TRY(write_existing_file(leaf + "/pids.max", std::to_string(limits.pids_max)));
    }
    if (limits.cpu_quota_us != 0) {
      BULWARK_TRY(write_existing_file(leaf + "/cpu.max", std::to_string(limits.cpu_quota_us) + " " +
                                                             std::to_string(limits.cpu_period_us)));
    }
    if (!limits.cpuset.empty()) BULWARK_TRY(write_existing_file(leaf + "/cpuset.cpus", limits.cpuset));
    return ok_status();
  };
  if (Status s = write_limits(); !s.ok()) {
    (void)remove_dir_retrying(leaf);
    return s.error();
  }
  return std::vector<std::string>{leaf};
}

// cgroup v2 when the root is a cgroup2 mount that has controllers to offer.
bool root_is_v2(const std::string& root) {
  auto controllers = read_small_file(root + "/cgroup.controllers");
  return controllers.ok() && !controllers->empty();
}

}  // namespace

Result<VmCgroup> VmCgroup::create(const std::string& root, const std::string& parent,
                                  const std::string& id, const CgroupLimits& limits) {
  const bool v2 = root_is_v2(root);
  auto dirs = v2 ? create_v2(root, parent, id, limits) : create_v1(root, parent, id, limits);
  if (!dirs.ok()) return dirs.error();
  return VmCgroup(v2, std::move(*dirs));
}

VmCgroup::VmCgroup(VmCgroup&& other) noexcept
    : v2_(other.v2_), dirs_(std::exchange(other.dirs_, {})) {}

VmCgroup::~VmCgroup() { (void)remove(); }

Status VmCgroup::add_process(pid_t pid) {
  for (const std::string& dir : dirs_) {
    BULWARK_TRY(write_existing_file(dir + "/cgroup.procs", std::to_string(pid)));
  }
  return ok_status();
}

Status VmCgroup::remove() {
  Status first = ok_status();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    Status s = remove_dir_retrying(*it);
    if (!s.ok() && first.ok()) first = s;
  }
  dirs_.clear();
  return first;
}

std::vector<std::string> cgroup_leaf_candidates(const std::string& root, const std::string& parent,
                                               const std::string& id) {
  std::vector<std::string> candidates = {root + "/" + parent + "/" + id};
  for (const char* controller : {"memory", "pids", "cpu", "cpuset"}) {
    candidates.push_back(root + "/" + controller + "/" + parent + "/" + id);
  }
  return candidates;
}

Result<bool> remove_leftover_cgroup_leaf(const std::string& leaf) {
  if (!exists(leaf + "/cgroup.procs")) return false;
  // A monitor outliving its launcher is killed by its parent-death signal; this covers any
  // process that still sits in the leaf (v1 leaves can be shared by several controllers).
  auto procs = read_small_file(leaf + "/cgroup.procs");
  if (procs.ok()) {
    std::istringstream pids(*procs);
    for (long pid = 0; pids >> pid;) {
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  BULWARK_TRY(remove_dir_retrying(leaf));
  return true;
}

Status write_existing_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return Error::from_errno("open " + path, errno);
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return Error::from_errno("write \"" + text + "\" to " + path, errno);
  if (static_cast<size_t>(n) != text.size()) return Error("short write to " + path);
  return ok_status();
}

}  // namespace bulwark::jail
