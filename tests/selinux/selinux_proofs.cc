// Offline proofs of the Bulwark SELinux module's VM separation, asked of a compiled kernel
// policy (Debian's default policy with bulwark.pp and bulwark_mcs.cil) through libsepol's
// access-vector computation, the same decision the kernel makes. No running SELinux needed.
//
// Usage: bulwark_selinux_proofs POLICY_FILE
// Prints one line per failed assertion naming the access that was allowed and must not be
// (or denied and must not be), then a summary; exits 1 if any assertion failed.
//
// The per-VM domains are found in the policy by attribute (bulwark_vm_domain,
// bulwark_device_domain), never listed here: a domain added to the module is checked as soon
// as it joins the attribute (and policy_structure.py fails on a Bulwark domain outside it).
// Proofs about one device's own data name its domain (net_device: bulwark_dev_net_t and its TAP
// queue fds) and fail when that domain is not in the attribute; so do the API process's
// (api_process: bulwark_api_t, in bulwark_vm_domain and not a device).

#include <sepol/policydb/ebitmap.h>
#include <sepol/policydb/policydb.h>
#include <sepol/policydb/services.h>
#include <sepol/sepol.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const char* const kPair = "s0:c1,c2";  // the VM under test
// Other VMs' pairs (sharing one category or none), and labels no VM is ever given: a single
// category, none, a pair plus one, the whole category set, and ranges (as a process's or an
// object's level: both the low and the high level must equal the pair's).
const std::vector<std::string> kOtherLevels = {"s0:c2,c3",        "s0:c1,c3",       "s0:c3,c4",
                                               "s0:c1",           "s0:c2",          "s0",
                                               "s0:c1,c2,c3",     "s0:c0.c1023",    "s0-s0:c0.c1023",
                                               "s0-s0:c1,c2",     "s0:c1-s0:c1,c2", "s0:c1,c2-s0:c0.c1023"};

// Filled from the policy's attributes in main().
std::vector<std::string> kVmDomains;
std::vector<std::string> kDeviceDomains;
// Every object class the policy defines (main()).
std::vector<std::string> kClasses;
// Objects that belong to one VM.
const std::vector<std::string> kVmObjects = {"bulwark_image_t", "bulwark_jail_t", "bulwark_vhost_sock_t",
                                             "bulwark_vm_tmpfs_t", "bulwark_api_sock_t"};
const std::vector<std::string> kProcessClasses = {"process", "fd", "unix_stream_socket", "unix_dgram_socket",
                                                  "sem",     "shm", "msgq",              "msg"};
const std::vector<std::string> kFileClasses = {"file", "dir", "lnk_file", "sock_file", "fifo_file"};
const char* const kLauncher = "system_u:system_r:bulwark_launcher_t:s0-s0:c0.c1023";
// The launcher as an administrator starts it: the user and role of the shell it came from.
const char* const kAdmin = "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023";
const char* const kAdminLauncher = "unconfined_u:unconfined_r:bulwark_launcher_t:s0-s0:c0.c1023";
const char* const kApiDomain = "bulwark_api_t";
// What bulwark_mcs.cil never lets the API process do on a connection at another level than its
// pair (the exception is for using one, not for making, joining or relabelling one).
const std::vector<std::string> kSocketLifecyclePerms = {"create",   "bind",        "connect",   "listen", "accept",
                                                        "connectto", "relabelfrom", "relabelto", "setattr"};

std::string process_context(const std::string& type, const std::string& level) {
  return "system_u:system_r:" + type + ":" + level;
}
std::string object_context(const std::string& type, const std::string& level) {
  return "system_u:object_r:" + type + ":" + level;
}

struct Decision {
  sepol_access_vector_t allowed = 0;
  unsigned int reason = 0;
};

class Prover {
 public:
  // Every permission bit the class defines.
  sepol_access_vector_t all_permissions(sepol_security_class_t tclass) {
    sepol_access_vector_t all = 0;
    for (unsigned bit = 0; bit < 32; ++bit) {
      if (sepol_av_perm_to_string(tclass, 1u << bit) != nullptr) all |= 1u << bit;
    }
    return all;
  }

  std::optional<sepol_security_class_t> class_of(const std::string& name) {
    sepol_security_class_t tclass = 0;
    if (sepol_string_to_security_class(name.c_str(), &tclass) != 0) return std::nullopt;
    return tclass;
  }

  std::optional<sepol_security_id_t> sid_of(const std::string& context) {
    auto found = sids_.find(context);
    if (found != sids_.end()) return found->second;
    sepol_security_id_t sid = 0;
    if (sepol_context_to_sid(context.c_str(), context.size() + 1, &sid) != 0) return std::nullopt;
    sids_.emplace(context, sid);
    return sid;
  }

  std::optional<Decision> decide(const std::string& source, const std::string& target, const std::string& cls) {
    auto ssid = sid_of(source);
    auto tsid = sid_of(target);
    auto tclass = class_of(cls);
    if (!ssid || !tsid || !tclass) {
      fail("cannot evaluate: invalid context or class: " + source + " -> " + target + " : " + cls);
      return std::nullopt;
    }
    Decision decision;
    sepol_av_decision avd{};
    if (sepol_compute_av_reason(*ssid, *tsid, *tclass, all_permissions(*tclass), &avd, &decision.reason) != 0) {
      fail("libsepol could not compute " + source + " -> " + target + " : " + cls);
      return std::nullopt;
    }
    decision.allowed = avd.allowed;
    return decision;
  }

  // Each named permission is allowed (want_allowed) or denied.
  void expect(bool want_allowed, const std::string& source, const std::string& target, const std::string& cls,
              const std::vector<std::string>& perms, const std::string& why) {
    auto decision = decide(source, target, cls);
    auto tclass = class_of(cls);
    if (!decision || !tclass) return;
    for (const std::string& perm : perms) {
      sepol_access_vector_t bit = 0;
      ++assertions_;
      if (sepol_string_to_av_perm(*tclass, perm.c_str(), &bit) != 0) {
        fail("unknown permission " + cls + ":" + perm);
        continue;
      }
      bool allowed = (decision->allowed & bit) != 0;
      if (allowed != want_allowed) {
        fail(std::string(allowed ? "ALLOWED but must be denied: " : "DENIED but must be allowed: ") + source +
             " -> " + target + " : " + cls + " { " + perm + " } (" + why + ")");
      }
    }
  }

  // Nothing at all is allowed from source to target in this class; whatever the type rules
  // would allow at one level (same_level_target) is denied here by a constraint.
  void expect_separated(const std::string& source, const std::string& target, const std::string& same_level_target,
                        const std::string& cls) {
    auto other = decide(source, target, cls);
    auto same = decide(source, same_level_target, cls);
    auto tclass = class_of(cls);
    if (!other || !same || !tclass) return;
    for (unsigned bit = 0; bit < 32; ++bit) {
      sepol_access_vector_t perm = 1u << bit;
      if ((all_permissions(*tclass) & perm) == 0) continue;
      ++assertions_;
      std::string name = sepol_av_perm_to_string(*tclass, perm);
      name.erase(0, name.find_first_not_of(' '));  // libsepol prefixes each name with a space
      if (other->allowed & perm) {
        fail("ALLOWED across VMs but must be denied: " + source + " -> " + target + " : " + cls + " { " + name + " }");
      } else if ((same->allowed & perm) && (other->reason & SEPOL_COMPUTEAV_CONS) == 0) {
        fail("denied across VMs but not by the MCS constraint: " + source + " -> " + target + " : " + cls +
             " { " + name + " }");
      } else if (same->allowed & perm) {
        ++constraint_denials_;
      }
    }
  }

  // The label the kernel gives an object `source` creates under `parent` (type_transition).
  std::optional<std::string> created_label(const std::string& source, const std::string& parent,
                                           const std::string& cls) {
    auto ssid = sid_of(source);
    auto tsid = sid_of(parent);
    auto tclass = class_of(cls);
    if (!ssid || !tsid || !tclass) return std::nullopt;
    sepol_security_id_t out = 0;
    if (sepol_transition_sid(*ssid, *tsid, *tclass, &out) != 0) return std::nullopt;
    char* context = nullptr;
    size_t length = 0;
    if (sepol_sid_to_context(out, &context, &length) != 0) return std::nullopt;
    std::string label(context);
    std::free(context);
    return label;
  }

  void check(bool ok, const std::string& line) {
    ++assertions_;
    if (!ok) fail(line);
  }

  void fail(const std::string& line) {
    ++failures_;
    std::printf("FAIL %s\n", line.c_str());
  }

  int assertions() const { return assertions_; }
  int failures() const { return failures_; }
  int constraint_denials() const { return constraint_denials_; }

 private:
  std::map<std::string, sepol_security_id_t> sids_;
  int assertions_ = 0;
  int failures_ = 0;
  int constraint_denials_ = 0;
};

void same_vm_works(Prover& p) {
  const std::string vm = process_context("bulwark_vm_t", kPair);
  const std::string blk = process_context("bulwark_dev_blk_t", kPair);
  const std::string ram = object_context("bulwark_vm_tmpfs_t", kPair);
  const std::string sock_dir = object_context("bulwark_vhost_sock_t", kPair);
  const std::string image = object_context("bulwark_image_t", kPair);
  const std::string why = "same VM";

  p.expect(true, vm, object_context("kvm_device_t", "s0"), "chr_file", {"open", "read", "write", "ioctl"}, why);
  p.expect(true, vm, ram, "file", {"create", "read", "write", "map", "getattr"}, why);
  p.expect(true, vm, vm, "unix_stream_socket", {"create", "read", "write", "getattr", "shutdown"}, why);
  p.expect(true, vm, sock_dir, "dir", {"search"}, why);
  p.expect(true, vm, sock_dir, "sock_file", {"write"}, why);
  p.expect(true, vm, object_context("bulwark_jail_t", kPair), "file", {"open", "read"}, why);
  p.expect(true, vm, object_context("bulwark_content_t", "s0"), "file", {"open", "read", "map"}, "content");
  p.expect(true, vm, kLauncher, "fd", {"use"}, "fds inherited from the launcher");
  for (const std::string& type : kDeviceDomains) {
    const std::string dev = process_context(type, kPair);
    p.expect(true, vm, dev, "unix_stream_socket", {"connectto"}, why);
    p.expect(true, dev, vm, "unix_stream_socket", {"read", "write", "getattr", "shutdown"}, why);
    p.expect(true, dev, dev, "unix_stream_socket", {"create", "bind", "listen", "accept", "read", "write"}, why);
    p.expect(true, dev, vm, "fd", {"use"}, "memfd passed by the monitor");
    p.expect(true, dev, ram, "file", {"read", "write", "map", "getattr"}, why);
    p.expect(true, dev, sock_dir, "dir", {"search", "add_name", "write"}, why);
    p.expect(true, dev, sock_dir, "sock_file", {"create", "unlink"}, why);
    p.expect(true, dev, kLauncher, "fd", {"use"}, "fds inherited from the launcher");
  }
  p.expect(true, blk, image, "file", {"read", "write", "getattr", "lock"}, "the blk process owns its image");
  p.expect(true, blk, object_context("bulwark_content_t", "s0"), "file", {"read", "getattr"},
           "read-only shared disk (s0), through the fd");
  p.expect(true, blk, object_context("bulwark_content_t", kPair), "file", {"read", "getattr"},
           "read-only disk at the VM's own pair, through the fd");

  // The jail (LABELS.md): every directory and symlink the launcher made in the root and the
  // files it wrote there are bulwark_jail_t at the VM's pair; every VM process walks them
  // (ld.so follows /lib64 -> usr/lib64, the monitor opens /vm/kernel).
  const std::string jail = object_context("bulwark_jail_t", kPair);
  for (const std::string& type : kVmDomains) {
    const std::string domain = process_context(type, kPair);
    p.expect(true, domain, jail, "dir", {"search", "getattr"}, "its jail's directories");
    p.expect(true, domain, jail, "lnk_file", {"read", "getattr"}, "its jail's symlinks (/lib -> usr/lib)");
    p.expect(true, domain, jail, "file", {"open", "read", "getattr"}, "files the launcher wrote for it");
    p.expect(false, domain, jail, "dir", {"write", "add_name", "remove_name", "rmdir", "setattr"},
             "the jail is read-only to the VM");
    p.expect(false, domain, jail, "lnk_file", {"create", "write", "unlink", "setattr"}, "the jail is read-only");
    p.expect(false, domain, jail, "file", {"write", "append", "create", "unlink", "setattr"}, "the jail is read-only");
    // The base directory (s0) is the launcher's: a VM never walks or reads it.
    p.expect(false, domain, object_context("bulwark_jail_t", "s0"), "dir", {"search", "read", "getattr"},
             "the jail base directory is the launcher's");
  }

  // Guest RAM: the memfd the monitor creates is labelled for its VM by type_transition, with
  // no write on the tmpfs directory.
  const std::string tmpfs = object_context("tmpfs_t", "s0");
  auto memfd = p.created_label(vm, tmpfs, "file");
  p.check(memfd && *memfd == ram, "the monitor's memfd is labelled " + memfd.value_or("(none)") + ", must be " + ram);
  p.expect(false, vm, tmpfs, "dir", {"write", "add_name", "remove_name"}, "no write on any tmpfs_t directory");
}

// Read-only disks not marked shared are labelled bulwark_content_t at their VM's pair: the
// base MCS rule (read needs the process to dominate the object) keeps other VMs out.
void pair_content(Prover& p) {
  for (const char* level : {"s0:c1,c3", "s0:c2,c3", "s0:c3,c4", "s0:c1,c2,c3", "s0:c0.c1023",
                                   "s0-s0:c0.c1023"}) {
    const std::string content = object_context("bulwark_content_t", level);
    for (const std::string& type : kVmDomains) {
      p.expect(false, process_context(type, kPair), content, "file", {"open", "read", "map", "getattr", "write", "lock"},
               std::string("another VM's read-only disk (") + level + ")");
    }
  }
}

// The categories of one MCS level ("s0", "s0:c1,c2", "s0:c0.c1023"; every level here is s0).
std::set<int> categories_of(const std::string& level) {
  std::set<int> categories;
  const size_t colon = level.find(':');
  if (colon == std::string::npos) return categories;
  std::stringstream list(level.substr(colon + 1));
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t dot = item.find('.');
    const int first = std::stoi(item.substr(1, dot == std::string::npos ? std::string::npos : dot - 1));
    const int last = dot == std::string::npos ? first : std::stoi(item.substr(dot + 2));
    for (int c = first; c <= last; ++c) categories.insert(c);
  }
  return categories;
}

// bulwark_mcs.cil's one exception to pair-equal levels: bulwark-api at one level may use a
// connection of its type whose whole range that level dominates (a client's level, copied by the
// kernel onto the accepted end). `source` and `target` are levels, each a level or a range.
bool api_connection_exception(const std::string& source, const std::string& target) {
  const size_t dash = source.find('-');
  if (dash != std::string::npos && categories_of(source.substr(0, dash)) != categories_of(source.substr(dash + 1))) {
    return false;  // a process with a range
  }
  const std::set<int> mine = categories_of(source.substr(0, dash));
  const size_t target_dash = target.find('-');
  const std::set<int> high = categories_of(target_dash == std::string::npos ? target : target.substr(target_dash + 1));
  return std::includes(mine.begin(), mine.end(), high.begin(), high.end());
}

// expect_separated, except where bulwark_mcs.cil lets bulwark-api use a connection at another
// level: there, only the lifecycle permissions must be denied (api_process proves the rest).
void expect_separated_vm(Prover& p, const std::string& source_type, const std::string& source_level,
                         const std::string& target_type, const std::string& target_level, const std::string& cls) {
  const std::string source = process_context(source_type, source_level);
  const std::string target = process_context(target_type, target_level);
  if (source_type == kApiDomain && target_type == kApiDomain && cls == "unix_stream_socket" &&
      api_connection_exception(source_level, target_level)) {
    p.expect(false, source, target, cls, kSocketLifecyclePerms,
             "across levels the API process may only use a connection it accepted");
    return;
  }
  const std::string same_level_target = process_context(target_type, source_level);
  p.expect_separated(source, target, same_level_target, cls);
}

void other_vms_are_separated(Prover& p) {
  for (const std::string& level : kOtherLevels) {
    for (const std::string& source : kVmDomains) {
      const std::string mine = process_context(source, kPair);
      for (const std::string& target : kVmDomains) {
        for (const std::string& cls : kProcessClasses) {
          // Both directions: this VM towards the other and the other towards this one.
          expect_separated_vm(p, source, kPair, target, level, cls);
          expect_separated_vm(p, source, level, target, kPair, cls);
        }
      }
      for (const std::string& object : kVmObjects) {
        for (const std::string& cls : kFileClasses) {
          p.expect_separated(mine, object_context(object, level), object_context(object, kPair), cls);
        }
      }
      // /proc/<pid> of another VM's process: its files carry the process's context.
      for (const std::string& target : kVmDomains) {
        for (const char* cls : {"dir", "file", "lnk_file"}) {
          p.expect_separated(mine, process_context(target, level), process_context(target, kPair), cls);
        }
      }
    }
  }
}

void unpaired_images_and_content(Prover& p) {
  const std::vector<std::string> write_perms = {"write",  "append", "setattr",     "unlink",   "rename",
                                                "create", "link",   "relabelfrom", "relabelto"};
  for (const std::string& source : kVmDomains) {
    const std::string domain = process_context(source, kPair);
    for (const char* level : {"s0", "s0:c1", "s0:c2"}) {
      p.expect(false, domain, object_context("bulwark_image_t", level), "file", write_perms,
               std::string("an image at ") + level + " belongs to no VM");
      p.expect(false, domain, object_context("bulwark_image_t", level), "file", {"open", "read", "map", "lock", "ioctl"},
               std::string("an image at ") + level + " belongs to no VM");
    }
    const std::string content = object_context("bulwark_content_t", "s0");
    p.expect(false, domain, content, "file", write_perms, "content is read-only");
    p.expect(false, domain, content, "file", {"lock"}, "no VM may lock content shared with other VMs");
    p.expect(false, domain, content, "dir", {"write", "add_name", "remove_name", "rmdir", "setattr"},
             "content is read-only");
  }
  const std::string image = object_context("bulwark_image_t", kPair);
  for (const std::string& source : kVmDomains) {
    if (source == "bulwark_dev_blk_t") continue;
    p.expect(false, process_context(source, kPair), image, "file", {"open", "read", "write", "append", "map"},
             "images are only for the blk process");
  }
}

void negative_rules(Prover& p) {
  const std::string kvm = object_context("kvm_device_t", "s0");
  p.expect(false, kLauncher, kvm, "chr_file", {"open", "read", "write", "ioctl"}, "/dev/kvm is the monitor's");
  for (const std::string& type : kDeviceDomains) {
    p.expect(false, process_context(type, kPair), kvm, "chr_file", {"open", "read", "write", "ioctl"},
             "/dev/kvm is the monitor's");
  }

  // Nothing executes what can be written, nor the run-time state or sockets.
  std::vector<std::string> sources = {kLauncher};
  for (const std::string& type : kVmDomains) sources.push_back(process_context(type, kPair));
  for (const std::string& source : sources) {
    for (const char* type : {"bulwark_image_t", "bulwark_vm_tmpfs_t", "bulwark_vhost_sock_t", "bulwark_var_run_t",
                             "bulwark_jail_t", "bulwark_content_t", "bulwark_conf_t"}) {
      for (const char* level : {kPair, "s0"}) {
        p.expect(false, source, object_context(type, level), "file",
                 {"execute", "execute_no_trans", "entrypoint", "execmod"}, "never executable");
      }
    }
  }

  // Only the launcher relabels: no per-VM domain may, to or from any Bulwark type.
  for (const std::string& source : kVmDomains) {
    for (const char* type : {"bulwark_image_t", "bulwark_content_t", "bulwark_jail_t", "bulwark_vhost_sock_t",
                             "bulwark_vm_tmpfs_t", "bulwark_var_run_t", "bulwark_conf_t", "bulwark_vm_exec_t"}) {
      for (const char* cls : {"file", "dir", "sock_file"}) {
        p.expect(false, process_context(source, kPair), object_context(type, kPair), cls,
                 {"relabelfrom", "relabelto"}, "only the launcher relabels");
      }
    }
  }
  p.expect(true, kLauncher, object_context("bulwark_image_t", kPair), "file", {"relabelfrom", "relabelto"},
           "the launcher labels images");
  p.expect(true, kLauncher, object_context("bulwark_content_t", "s0"), "file", {"relabelfrom", "relabelto"},
           "the launcher labels content");

  // Inside one VM: devices cannot ptrace or signal the monitor, nor the monitor a device,
  // nor any of them the launcher.
  const std::vector<std::string> process_perms = {"ptrace", "signal", "sigkill", "sigstop", "signull",
                                                  "getattr", "setsched", "share", "transition", "dyntransition"};
  const std::string vm = process_context("bulwark_vm_t", kPair);
  for (const std::string& type : kDeviceDomains) {
    const std::string dev = process_context(type, kPair);
    p.expect(false, dev, vm, "process", process_perms, "a device may not touch its monitor");
    p.expect(false, vm, dev, "process", process_perms, "the monitor may not touch a device");
  }
  for (const std::string& type : kVmDomains) {
    p.expect(false, process_context(type, kPair), kLauncher, "process", process_perms,
             "a VM process may not touch the launcher");
    p.expect(false, process_context(type, kPair), process_context(type, kPair), "process", {"ptrace", "execmem"},
             "no self-ptrace, no executable anonymous memory");
  }
  p.expect(false, kLauncher, vm, "process", {"ptrace"}, "the launcher never ptraces");
}

// The launcher started by init (system_u:system_r) and by an administrator
// (unconfined_u:unconfined_r): with every constraint of the base policy evaluated, it enters
// the VM domains, creates their socketpairs and jail entries, and labels and restores files
// whose user is not its own.
void launcher_identity(Prover& p) {
  p.expect(true, kAdmin, kAdminLauncher, "process", {"transition"}, "an administrator starts the launcher");
  p.expect(true, kAdmin, object_context("bulwark_launcher_exec_t", "s0"), "file", {"execute", "read", "open"},
           "an administrator runs /usr/bin/bulwark");
  for (const char* launcher : {kLauncher, kAdminLauncher}) {
    const std::string who = std::string("launcher ") + launcher;
    for (const std::string& type : kVmDomains) {
      const std::string vm = process_context(type, kPair);
      p.expect(true, launcher, vm, "process", {"transition", "rlimitinh", "sigkill", "signal"},
               who + " starts and stops " + type);
      // No noatsecure: the exec into a VM domain is a secure exec (AT_SECURE). No siginh.
      p.expect(false, launcher, vm, "process", {"noatsecure", "siginh", "ptrace"}, who);
      // The jail sets no_new_privs and mounts the root nosuid before the exec.
      p.expect(true, launcher, vm, "process2", {"nnp_transition", "nosuid_transition"},
               who + ": exec under no_new_privs from a nosuid mount");
      const std::string entry = object_context(type.substr(0, type.size() - 2) + "_exec_t", "s0");
      p.expect(true, vm, entry, "file", {"entrypoint"}, type + " entered through its own binary");
      p.expect(true, launcher, entry, "file", {"execute", "read", "open"}, who + " execs " + type);
    }
    const std::string monitor = process_context("bulwark_vm_t", kPair);
    p.expect(true, launcher, monitor, "unix_stream_socket", {"create", "read", "write"},
             who + ": vhost-user socketpair under setsockcreatecon");
    const std::string jail = object_context("bulwark_jail_t", kPair);
    p.expect(true, launcher, jail, "dir", {"create", "search", "add_name", "relabelto", "relabelfrom"},
             who + ": jail directories at creation");
    p.expect(true, launcher, jail, "lnk_file", {"create", "relabelto"}, who + ": jail symlinks at creation");
    p.expect(true, launcher, jail, "file", {"create", "write", "relabelto"}, who + ": vm.json at creation");
    // An image the administrator made in a home directory, under /srv or /var/lib: read,
    // label, and restore at the end (the user of the file is not the launcher's).
    for (const char* original : {"unconfined_u:object_r:user_home_t:s0", "system_u:object_r:var_t:s0",
                                 "unconfined_u:object_r:var_lib_t:s0", "unconfined_u:object_r:tmp_t:s0"}) {
      p.expect(true, launcher, original, "file", {"getattr", "open", "read", "relabelfrom", "relabelto"},
               who + ": image where it lives, labelled and restored");
    }
    for (const std::string& label : {object_context("bulwark_image_t", kPair), object_context("bulwark_content_t", kPair),
                                     object_context("bulwark_content_t", "s0")}) {
      p.expect(true, launcher, label, "file", {"relabelto", "relabelfrom"}, who + ": sVirt labels");
    }
    p.expect(true, launcher, object_context("bulwark_vhost_sock_t", kPair), "sock_file", {"relabelto"},
             who + ": vhost-user sockets");

    // What the launcher needed under an enforcing kernel (tests/selinux_guest): a writable
    // image opened read-write, locked and its label memory written before it is relabelled;
    // label memory on content; statfs of inputs; /proc/<pid>/status of every process (uid
    // allocator); cap_last_cap; the kernel log.
    p.expect(true, launcher, "unconfined_u:object_r:var_t:s0", "file", {"write", "lock", "setattr"},
             who + ": writable image before labelling");
    p.expect(true, launcher, object_context("bulwark_content_t", "s0"), "file", {"setattr"}, who + ": label memory");
    p.expect(true, launcher, object_context("tmpfs_t", "s0"), "filesystem", {"getattr"}, who + ": statfs");
    p.expect(true, launcher, object_context("proc_t", "s0"), "filesystem", {"getattr"}, who + ": statfs");
    p.expect(true, launcher, "system_u:system_r:kernel_t:s0", "dir", {"search"}, who + ": /proc/<pid>");
    p.expect(true, launcher, "system_u:system_r:kernel_t:s0", "file", {"open", "read"}, who + ": /proc/<pid>/status");
    p.expect(true, launcher, object_context("sysctl_kernel_t", "s0"), "file", {"open", "read"},
             who + ": /proc/sys/kernel/cap_last_cap");
    p.expect(true, launcher, object_context("kmsg_device_t", "s0"), "chr_file", {"open", "read"}, who + ": /dev/kmsg");

    // Relabel rights narrowed to Bulwark's labels (and the image homes for restoring): never
    // configuration, policy, binaries or libraries.
    for (const char* type : {"etc_t", "selinux_config_t", "policy_config_t", "default_context_t", "file_context_t",
                             "bin_t", "lib_t", "ld_so_t", "shadow_t", "bulwark_vm_exec_t", "bulwark_dev_blk_exec_t",
                             "bulwark_launcher_exec_t", "bulwark_conf_t", "bulwark_var_run_t",
                             "semanage_store_t", "load_policy_exec_t", "usr_t", "user_home_dir_t"}) {
      const std::string label = object_context(type, "s0");
      p.expect(false, launcher, label, "file", {"relabelto"}, who + ": never relabels a file to " + std::string(type));
      p.expect(false, launcher, label, "dir", {"relabelto"}, who + ": never relabels a directory to " + std::string(type));
    }
  }
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const std::string& entry : list) {
    if (entry == item) return true;
  }
  return false;
}

// bulwark-dev-net (LABELS.md): its TAP queues are fds of /dev/net/tun (tun_tap_device_t:s0, one
// inode for every TAP on the host) that the launcher opened, attached to the VM's TAP and passed
// at exec; the TAP's tun_socket carries the launcher's context (the kernel labels it with its
// creator's, selinux_tun_dev_alloc_security). The kernel's checks on a process that holds such
// an fd: fd use on the opener and chr_file read / write / ioctl (+ the ioctl command, which
// policy_structure.py checks against the allowxperm rule) / getattr on every call; tun_socket
// attach_queue for TUNSETQUEUE IFF_ATTACH_QUEUE (re-attach a queue it detached: tun_set_queue);
// TUNSETIFF would need tun_socket create (a new TAP) or relabelfrom on the TAP's and relabelto
// on its own context (an existing TAP: selinux_tun_dev_open).
void net_device(Prover& p) {
  const char* const domain = "bulwark_dev_net_t";
  const bool present = contains(kDeviceDomains, domain);
  p.check(present, std::string(domain) + " is not in bulwark_device_domain (bulwark_device_domain_template(dev_net))");
  if (!present) return;
  const std::string net = process_context(domain, kPair);
  const std::string tun = object_context("tun_tap_device_t", "s0");
  const std::string vm = process_context("bulwark_vm_t", kPair);

  // Within its VM, as every device: the launcher's socketpair, the monitor's memfd.
  p.expect(true, net, vm, "unix_stream_socket", {"read", "write", "getattr", "shutdown"}, "its socketpair");
  p.expect(true, net, vm, "fd", {"use"}, "the memfd and eventfds passed by the monitor");
  p.expect(true, net, object_context("bulwark_vm_tmpfs_t", kPair), "file", {"read", "write", "map", "getattr"},
           "its VM's guest RAM");
  for (const char* level : {"s0:c1,c3", "s0:c3,c4", "s0:c1", "s0", "s0-s0:c1,c2"}) {
    const std::string why = std::string("another VM's (") + level + ")";
    p.expect(false, net, process_context("bulwark_vm_t", level), "unix_stream_socket",
             {"read", "write", "getattr", "connectto"}, why + " socketpair");
    p.expect(false, net, process_context("bulwark_vm_t", level), "fd", {"use"}, why + " fds");
    p.expect(false, net, object_context("bulwark_vm_tmpfs_t", level), "file", {"read", "write", "map", "getattr"},
             why + " guest RAM");
  }

  // Its TAP queue fds.
  for (const char* launcher : {kLauncher, kAdminLauncher}) {
    p.expect(true, net, launcher, "fd", {"use"}, "TAP queue fds opened by the launcher");
    p.expect(true, net, launcher, "tun_socket", {"attach_queue"},
             "re-attach a TAP queue it detached (TUNSETQUEUE, VQ_PAIRS_SET)");
    p.expect(false, net, launcher, "tun_socket", {"relabelfrom", "relabelto", "create", "read", "write", "ioctl"},
             "no TUNSETIFF onto the launcher's TAPs (selinux_tun_dev_open)");
  }
  p.expect(true, net, tun, "chr_file", {"read", "write", "ioctl", "getattr"}, "frames on its TAP queue fds");
  p.expect(false, net, tun, "chr_file",
           {"open", "create", "append", "lock", "map", "execute", "setattr", "relabelfrom", "relabelto", "mounton"},
           "no /dev/net/tun of its own: it opens no queue and makes no TAP");
  p.expect(false, net, net, "tun_socket", {"create", "relabelfrom", "relabelto", "attach_queue"},
           "no TAP of its own (TUNSETIFF: create, relabelto)");
  for (const std::string& other : {std::string(kAdmin), std::string("system_u:system_r:init_t:s0"),
                                   process_context(domain, "s0:c2,c3"), process_context("bulwark_vm_t", kPair)}) {
    p.expect(false, net, other, "tun_socket", {"attach_queue", "relabelfrom"}, "a TAP the launcher did not make");
  }
  // No network of its own: no socket of any class but unix ones, not even to create it.
  for (const std::string& cls : kClasses) {
    if (!cls.ends_with("_socket") && cls != "socket") continue;
    if (cls == "unix_stream_socket" || cls == "unix_dgram_socket") continue;
    p.expect(false, net, net, cls, {"create"}, "no network socket (" + cls + ")");
  }

  // The launcher makes the TAP; no other VM process touches /dev/net/tun.
  for (const char* launcher : {kLauncher, kAdminLauncher}) {
    p.expect(true, launcher, tun, "chr_file", {"open", "read", "write", "ioctl", "getattr"},
             std::string("launcher ") + launcher + " opens /dev/net/tun");
    p.expect(true, launcher, launcher, "tun_socket", {"create", "relabelfrom", "relabelto"},
             std::string("launcher ") + launcher + " creates the TAP and attaches its queues (TUNSETIFF)");
  }
  for (const std::string& type : kVmDomains) {
    if (type == domain) continue;
    p.expect(false, process_context(type, kPair), tun, "chr_file", {"open", "read", "write", "ioctl"},
             "only the net device uses TAP queues");
    p.expect(false, process_context(type, kPair), kLauncher, "tun_socket", {"attach_queue", "relabelfrom"},
             "only the net device uses TAP queues");
  }
}

// bulwark-api (LABELS.md): one per VM, jailed like a device but no device (the monitor never
// reaches it, it maps no guest memory). The launcher makes its two sockets under setsockcreatecon
// of its context at the VM's pair: fd 3, listening, bound at the operator's path (the socket file
// bulwark_api_sock_t at the pair), and fd 4, the SOCK_SEQPACKET command channel (a socketpair,
// class unix_stream_socket), whose other end the launcher keeps. A connection it accepts carries
// its type and the client's level (selinux_socket_unix_stream_connect copies the client's level
// onto the server's end), which bulwark_mcs.cil lets it use when its pair dominates that level.
void api_process(Prover& p) {
  const bool present = contains(kVmDomains, kApiDomain);
  p.check(present, std::string(kApiDomain) + " is not in bulwark_vm_domain (bulwark_vm_domain_template(api))");
  p.check(!contains(kDeviceDomains, kApiDomain),
          std::string(kApiDomain) + " is in bulwark_device_domain: it would get the devices' vhost-user sockets and "
                                    "guest RAM");
  if (!present) return;
  const std::string api = process_context(kApiDomain, kPair);
  const std::string vm = process_context("bulwark_vm_t", kPair);
  const std::string sock_file = object_context("bulwark_api_sock_t", kPair);
  const std::string run_dir = object_context("bulwark_var_run_t", "s0");
  const std::vector<std::string> use = {"read", "write", "getattr", "getopt", "setopt", "shutdown"};

  // Its own sockets, as the launcher made them, and its jail.
  p.expect(true, api, api, "unix_stream_socket", {"accept", "read", "write", "getattr", "getopt", "setopt", "shutdown"},
           "its listening socket (fd 3) and command channel (fd 4)");
  for (const char* launcher : {kLauncher, kAdminLauncher}) {
    p.expect(true, api, launcher, "fd", {"use"}, "fds 3 and 4, passed by the launcher");
  }
  p.expect(true, api, object_context("bulwark_jail_t", kPair), "file", {"open", "read", "getattr"}, "its jail's files");
  // Connections from API clients at a level its pair dominates (s0, s0-s0:c1,c2): used, never
  // connected to, accepted on, listened on, bound or relabelled.
  for (const char* level : {"s0", "s0-s0:c1,c2", "s0:c1"}) {
    const std::string connection = process_context(kApiDomain, level);
    p.expect(true, api, connection, "unix_stream_socket", use, std::string("a connection from a client at ") + level);
    p.expect(false, api, connection, "unix_stream_socket", kSocketLifecyclePerms,
             std::string("a socket at ") + level + " is only ever a client's connection");
  }
  // The base policy's MCS rule refuses a connection its pair does not dominate (an administrator's
  // shell at s0-s0:c0.c1023): clients connect at s0 (bulwark_api_connect, LABELS.md).
  p.expect(false, api, process_context(kApiDomain, "s0-s0:c0.c1023"), "unix_stream_socket", {"read", "write"},
           "a connection at a level its pair does not dominate (Debian's h1 dom h2)");
  // Its stdio under SELinux: the launcher's relay socketpairs, labelled as its VM's monitor.
  p.expect(true, api, vm, "unix_stream_socket", {"read", "write", "getattr"}, "stdio relay socketpairs");
  p.expect(false, api, vm, "unix_stream_socket", {"connectto", "accept", "bind", "listen"},
           "the monitor is no peer of the API process");

  // The launcher makes both sockets and the socket file; it is no client.
  for (const char* launcher : {kLauncher, kAdminLauncher}) {
    const std::string who = std::string("launcher ") + launcher;
    p.expect(true, launcher, api, "unix_stream_socket",
             {"create", "bind", "listen", "read", "write", "getattr", "shutdown"},
             who + ": bulwark-api's sockets under setsockcreatecon");
    p.expect(false, launcher, api, "unix_stream_socket", {"connectto", "accept"}, who + " is no API client");
    p.expect(true, launcher, sock_file, "sock_file", {"create", "getattr", "setattr", "unlink"},
             who + ": the socket file at bind (setfscreatecon), its group and mode, its removal");
    p.expect(true, launcher, run_dir, "dir", {"search", "write", "add_name", "remove_name"},
             who + ": the operator's API socket directory (bulwark_var_run_t)");
  }
  // An operator's client connects: an administrator (unconfined) at its range, a service at s0.
  for (const char* client : {kAdmin, "unconfined_u:unconfined_r:unconfined_t:s0"}) {
    p.expect(true, client, sock_file, "sock_file", {"getattr", "write"}, std::string("client ") + client);
    p.expect(true, client, api, "unix_stream_socket", {"connectto"}, std::string("client ") + client);
  }

  // No other VM's process reaches it: not its socket file, its sockets or its fds.
  for (const char* level : {"s0:c1,c3", "s0:c2,c3", "s0:c3,c4"}) {
    for (const std::string& type : kVmDomains) {
      const std::string other = process_context(type, level);
      const std::string why = std::string("another VM's ") + type + " (" + level + ")";
      p.expect(false, other, api, "unix_stream_socket", {"connectto", "accept", "read", "write", "getattr"},
               why + " connects to or uses the API socket");
      p.expect(false, other, sock_file, "sock_file", {"getattr", "write", "open", "unlink"}, why + ": the socket file");
      p.expect(false, other, api, "fd", {"use"}, why + ": the API process's fds");
    }
  }
  // Within its VM: the monitor and devices cannot connect to it, and no process touches another.
  const std::vector<std::string> process_perms = {"ptrace", "signal", "sigkill", "sigstop", "signull",
                                                  "getattr", "setsched", "share", "transition", "dyntransition"};
  for (const std::string& type : kVmDomains) {
    if (type == kApiDomain) continue;
    const std::string peer = process_context(type, kPair);
    p.expect(false, peer, api, "unix_stream_socket", {"connectto"}, type + " connects to the API process");
    p.expect(false, peer, sock_file, "sock_file", {"write"}, type + " writes the API socket file");
    p.expect(false, peer, api, "process", process_perms, type + " touches the API process");
    p.expect(false, api, peer, "process", process_perms, "the API process touches " + type);
    p.expect(false, api, peer, "unix_stream_socket", {"connectto"}, "the API process connects to " + type);
  }

  // Nothing of the guest's or the host's: no guest RAM (its own VM's either), monitor fds, /dev/kvm,
  // image, content, TAP, vhost-user socket, network.
  for (const char* level : {kPair, "s0:c3,c4", "s0"}) {
    const std::string why = std::string(" at ") + level;
    p.expect(false, api, object_context("bulwark_vm_tmpfs_t", level), "file",
             {"open", "read", "write", "map", "getattr"}, "guest RAM" + why);
    p.expect(false, api, object_context("bulwark_image_t", level), "file",
             {"open", "read", "write", "append", "map", "getattr", "lock"}, "disk images" + why);
    p.expect(false, api, object_context("bulwark_content_t", level), "file", {"open", "read", "map", "getattr"},
             "read-only disks, kernels and initrds" + why);
    p.expect(false, api, object_context("bulwark_vhost_sock_t", level), "sock_file", {"write", "getattr"},
             "vhost-user sockets" + why);
    p.expect(false, api, object_context("bulwark_vhost_sock_t", level), "dir", {"search", "getattr"},
             "vhost-user socket directories" + why);
  }
  p.expect(false, api, vm, "fd", {"use"}, "the monitor's memfd and eventfds");
  for (const std::string& device : kDeviceDomains) {
    p.expect(false, api, process_context(device, kPair), "unix_stream_socket", {"connectto", "read", "write"},
             "a device's vhost-user socket");
  }
  p.expect(false, api, object_context("kvm_device_t", "s0"), "chr_file", {"open", "read", "write", "ioctl", "getattr"},
           "/dev/kvm");
  p.expect(false, api, object_context("tun_tap_device_t", "s0"), "chr_file",
           {"open", "read", "write", "ioctl", "getattr"}, "TAP queues");
  p.expect(false, api, kLauncher, "tun_socket", {"attach_queue", "relabelfrom", "create"}, "the launcher's TAPs");
  p.expect(false, api, api, "tun_socket", {"create", "relabelto"}, "a TAP of its own");
  p.expect(false, api, kLauncher, "unix_stream_socket", {"connectto", "read", "write"},
           "the launcher's own sockets (its command channel carries the API process's context)");
  for (const std::string& cls : kClasses) {
    if (!cls.ends_with("_socket") && cls != "socket") continue;
    if (cls == "unix_stream_socket" || cls == "unix_dgram_socket") continue;
    p.expect(false, api, api, cls, {"create"}, "no network socket (" + cls + ")");
  }
}

}  // namespace

// Runs fn on the compiled policy's policydb.
template <typename Fn>
void with_policydb(const char* policy_path, Fn&& fn) {
  FILE* file = std::fopen(policy_path, "re");
  if (file == nullptr) return;
  sepol_policy_file_t* pf = nullptr;
  sepol_policydb_t* db = nullptr;
  if (sepol_policy_file_create(&pf) == 0 && sepol_policydb_create(&db) == 0) {
    sepol_policy_file_set_fp(pf, file);
    if (sepol_policydb_read(db, pf) == 0) fn(&db->p);
  }
  if (db != nullptr) sepol_policydb_free(db);
  if (pf != nullptr) sepol_policy_file_free(pf);
  std::fclose(file);
}

// Every type carrying `attribute` in the compiled policy.
std::vector<std::string> types_with_attribute(const char* policy_path, const char* attribute) {
  std::vector<std::string> found;
  with_policydb(policy_path, [&](policydb_t* policy) {
    auto* attr = static_cast<type_datum_t*>(hashtab_search(policy->p_types.table, const_cast<char*>(attribute)));
    if (attr == nullptr || attr->flavor != TYPE_ATTRIB) return;
    for (uint32_t i = 0; i < policy->p_types.nprim; ++i) {
      type_datum_t* type = policy->type_val_to_struct[i];
      if (type == nullptr || type->flavor == TYPE_ATTRIB) continue;
      if (ebitmap_get_bit(&policy->type_attr_map[i], attr->s.value - 1)) found.emplace_back(policy->p_type_val_to_name[i]);
    }
  });
  return found;
}

// Every object class the compiled policy defines.
std::vector<std::string> class_names(const char* policy_path) {
  std::vector<std::string> found;
  with_policydb(policy_path, [&](policydb_t* policy) {
    for (uint32_t i = 0; i < policy->p_classes.nprim; ++i) {
      if (policy->p_class_val_to_name[i] != nullptr) found.emplace_back(policy->p_class_val_to_name[i]);
    }
  });
  return found;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s POLICY_FILE\n", argv[0]);
    return 2;
  }
  FILE* file = std::fopen(argv[1], "re");
  if (file == nullptr) {
    std::perror(argv[1]);
    return 2;
  }
  int loaded = sepol_set_policydb_from_file(file);
  std::fclose(file);
  if (loaded != 0) {
    std::fprintf(stderr, "%s: not a policy libsepol can load\n", argv[1]);
    return 2;
  }

  kVmDomains = types_with_attribute(argv[1], "bulwark_vm_domain");
  kDeviceDomains = types_with_attribute(argv[1], "bulwark_device_domain");
  kClasses = class_names(argv[1]);
  std::string names;
  for (const std::string& type : kVmDomains) names += " " + type;
  std::printf("per-VM domains (bulwark_vm_domain):%s\n", names.c_str());
  Prover prover;
  prover.check(!kVmDomains.empty() && !kDeviceDomains.empty(),
               "no type in bulwark_vm_domain or bulwark_device_domain: the proofs would check nothing");
  prover.check(contains(kClasses, "tun_socket") && contains(kClasses, "packet_socket"),
               "the policy's object classes were not read (no tun_socket, packet_socket)");
  for (const std::string& type : kDeviceDomains) {
    bool listed = false;
    for (const std::string& vm : kVmDomains) listed = listed || vm == type;
    prover.check(listed, type + " is in bulwark_device_domain but not in bulwark_vm_domain");
  }
  same_vm_works(prover);
  pair_content(prover);
  launcher_identity(prover);
  other_vms_are_separated(prover);
  unpaired_images_and_content(prover);
  negative_rules(prover);
  net_device(prover);
  api_process(prover);

  std::printf("selinux proofs: %d assertions, %d failed; %d accesses allowed within a VM and denied across VMs by "
              "the MCS constraints\n",
              prover.assertions(), prover.failures(), prover.constraint_denials());
  return prover.failures() == 0 ? 0 : 1;
}
