// Offline proofs of the Bulwark SELinux module's VM separation, asked of a compiled kernel
// policy (Debian's default policy with bulwark.pp and bulwark_mcs.cil) through libsepol's
// access-vector computation, the same decision the kernel makes. No running SELinux needed.
//
// Usage: bulwark_selinux_proofs POLICY_FILE
// Prints one line per failed assertion naming the access that was allowed and must not be
// (or denied and must not be), then a summary; exits 1 if any assertion failed.

#include <sepol/policydb/services.h>
#include <sepol/sepol.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

const char* const kPair = "s0:c1,c2";  // the VM under test
// Other VMs' pairs (sharing one category or none), and labels no VM is ever given: a single
// category, none, a pair plus one, and the whole range.
const std::vector<std::string> kOtherLevels = {"s0:c2,c3", "s0:c1,c3", "s0:c3,c4", "s0:c1",
                                               "s0:c2",    "s0",       "s0:c1,c2,c3", "s0:c0.c1023"};

const std::vector<std::string> kVmDomains = {"bulwark_vm_t", "bulwark_dev_blk_t", "bulwark_dev_rng_t",
                                             "bulwark_dev_net_t", "bulwark_dev_vsock_t"};
const std::vector<std::string> kDeviceDomains = {"bulwark_dev_blk_t", "bulwark_dev_rng_t",
                                                 "bulwark_dev_net_t", "bulwark_dev_vsock_t"};
// Objects that belong to one VM.
const std::vector<std::string> kVmObjects = {"bulwark_image_t", "bulwark_jail_t", "bulwark_vhost_sock_t",
                                             "bulwark_vm_tmpfs_t"};
const std::vector<std::string> kProcessClasses = {"process", "fd", "unix_stream_socket", "unix_dgram_socket",
                                                  "sem",     "shm", "msgq",              "msg"};
const std::vector<std::string> kFileClasses = {"file", "dir", "lnk_file", "sock_file", "fifo_file"};
const char* const kLauncher = "system_u:system_r:bulwark_launcher_t:s0-s0:c0.c1023";

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
  p.expect(true, blk, object_context("bulwark_content_t", "s0"), "file", {"read", "getattr"}, "read-only disk");
}

void other_vms_are_separated(Prover& p) {
  for (const std::string& level : kOtherLevels) {
    for (const std::string& source : kVmDomains) {
      const std::string mine = process_context(source, kPair);
      const std::string theirs_source = process_context(source, level);
      for (const std::string& target : kVmDomains) {
        for (const std::string& cls : kProcessClasses) {
          // Both directions: this VM towards the other and the other towards this one.
          p.expect_separated(mine, process_context(target, level), process_context(target, kPair), cls);
          p.expect_separated(theirs_source, process_context(target, kPair), process_context(target, level), cls);
        }
      }
      for (const std::string& object : kVmObjects) {
        for (const std::string& cls : kFileClasses) {
          p.expect_separated(mine, object_context(object, level), object_context(object, kPair), cls);
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
  for (const char* source : {"bulwark_vm_t", "bulwark_dev_rng_t", "bulwark_dev_net_t", "bulwark_dev_vsock_t"}) {
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

}  // namespace

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

  Prover prover;
  same_vm_works(prover);
  other_vms_are_separated(prover);
  unpaired_images_and_content(prover);
  negative_rules(prover);

  std::printf("selinux proofs: %d assertions, %d failed; %d accesses allowed within a VM and denied across VMs by "
              "the MCS constraints\n",
              prover.assertions(), prover.failures(), prover.constraint_denials());
  return prover.failures() == 0 ? 0 : 1;
}
