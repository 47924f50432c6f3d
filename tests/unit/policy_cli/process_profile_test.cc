#include "jailer/policy_cli/process_profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "jailer/policy_cli/policy_command.h"
#include "policy/seccomp_policy/policy_loader.h"
#include "temp_tree.h"

namespace bulwark::policy_cli {
namespace {

using nlohmann::json;
using testing::TempTree;

const std::string kSeccompDir = std::string(BULWARK_SOURCE_POLICY_DIR) + "/seccomp";

const json* process(const json& doc, const std::string& kind) {
  for (const json& p : doc["processes"]) {
    if (p["kind"] == kind) return &p;
  }
  return nullptr;
}

// Counted here straight from the files with the policy library, not from the listing.
size_t syscall_count(const std::string& file) {
  auto policy = policy::load_seccomp_policy_file(kSeccompDir + "/" + file);
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message());
  return policy.ok() ? policy->rules.size() : 0;
}

std::string show(const std::vector<std::string_view>& args) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_policy_command(args), kPolicyExitOk);
  return ::testing::internal::GetCapturedStdout();
}

TEST(PolicyShow, TextNamesEveryProcessKindWithItsSyscallCount) {
  const std::string text = show({"show", "--policy-dir", kSeccompDir});
  for (const char* heading : {"== launcher: bulwark (launcher) ==", "== monitor-main: bulwark-monitor, main thread ==",
                              "== monitor-vcpu: bulwark-monitor, vCPU threads ==", "== dev-blk: bulwark-dev-blk ==",
                              "== dev-rng: bulwark-dev-rng ==", "== dev-net: bulwark-dev-net ==",
                              "== dev-vsock: bulwark-dev-vsock ==",
                              "== api: bulwark-api =="}) {
    EXPECT_NE(text.find(heading), std::string::npos) << heading << "\n" << text;
  }
  EXPECT_NE(text.find("monitor-main.policy + monitor-common.policy: " +
                      std::to_string(syscall_count("monitor-main.policy")) + " system calls"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("monitor-vcpu.policy + monitor-common.policy: " +
                      std::to_string(syscall_count("monitor-vcpu.policy")) + " system calls"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("SELinux domain:  bulwark_dev_rng_t"), std::string::npos) << text;
  EXPECT_NE(text.find("SELinux domain:  bulwark_dev_net_t"), std::string::npos) << text;
  EXPECT_NE(text.find("4: TAP queue of its NIC"), std::string::npos) << text;
  EXPECT_NE(text.find("SELinux domain:  bulwark_api_t"), std::string::npos) << text;
  EXPECT_NE(text.find("/dev/kvm"), std::string::npos) << text;
}

TEST(PolicyShow, JsonMatchesTheFilesAndTheJailCode) {
  const json doc = json::parse(show({"show", "--json", "--policy-dir", kSeccompDir}));
  ASSERT_EQ(doc["processes"].size(), 8u);
  for (const char* kind : {"monitor-main", "monitor-vcpu"}) {
    const json* p = process(doc, kind);
    ASSERT_NE(p, nullptr) << kind;
    const json& seccomp = (*p)["seccomp"];
    ASSERT_EQ(seccomp["status"], "loaded") << seccomp.dump();
    EXPECT_EQ(seccomp["syscall_count"].get<size_t>(), syscall_count(std::string(kind) + ".policy"));
    EXPECT_EQ(seccomp["rules"].size(), seccomp["syscall_count"].get<size_t>());
    EXPECT_EQ(seccomp["files"][1], "monitor-common.policy");
    EXPECT_EQ((*p)["selinux"]["domain"], "bulwark_vm_t");
    EXPECT_EQ((*p)["capabilities"], json::array());
    EXPECT_EQ((*p)["no_new_privs"], true);
    EXPECT_EQ((*p)["dumpable"], false);
    EXPECT_EQ((*p)["dev"][0]["path"], "/dev/kvm");
    EXPECT_EQ((*p)["dev"][0]["mode"], "0600");
    // 512 MiB guest + the default 128 MiB overhead, as build_monitor_spec computes it.
    EXPECT_EQ((*p)["cgroup"]["memory_max_bytes"]["value"].get<uint64_t>(), uint64_t{640} << 20);
    EXPECT_EQ((*p)["cgroup"]["memory_max_bytes"]["formula"], "guest RAM + 128 MiB");
    const json& created = (*p)["namespaces"]["new"];
    for (const char* ns : {"mnt", "pid", "ipc", "uts", "net"}) {
      EXPECT_NE(std::find(created.begin(), created.end(), ns), created.end()) << ns;
    }
  }
  // vCPU threads may run the vCPU; the main thread may not.
  auto allows = [&](const std::string& kind, const std::string& syscall) {
    for (const json& rule : (*process(doc, kind))["seccomp"]["rules"]) {
      if (rule["syscall"] == syscall) return true;
    }
    return false;
  };
  EXPECT_TRUE(allows("monitor-vcpu", "ioctl"));
  EXPECT_FALSE(allows("monitor-main", "exit"));

  for (const char* kind : {"dev-blk", "dev-rng"}) {
    const json* p = process(doc, kind);
    ASSERT_NE(p, nullptr) << kind;
    EXPECT_TRUE((*p)["dev"].empty()) << "a device process gets no /dev nodes";
    EXPECT_EQ((*p)["namespaces"]["net"], "always new and empty (jail.netns does not apply)");
    EXPECT_EQ((*p)["rlimits"]["RLIMIT_NOFILE"]["value"], 64);
    const std::string status = (*p)["seccomp"]["status"];
    EXPECT_TRUE(status == "loaded" || status == "missing") << status;
  }
  const json& blk_fsize = (*process(doc, "dev-blk"))["rlimits"]["RLIMIT_FSIZE"];
  EXPECT_EQ(blk_fsize["value"].get<uint64_t>(), doc["representative_vm"]["disk_image_bytes"].get<uint64_t>());
  EXPECT_EQ(blk_fsize["follows"], json::array({"disk image size"}));
  const json* launcher = process(doc, "launcher");
  ASSERT_NE(launcher, nullptr);
  EXPECT_EQ((*launcher)["jailed"], false);
  EXPECT_EQ((*launcher)["seccomp"]["status"], "not filtered");
  EXPECT_EQ((*launcher)["selinux"]["domain"], "bulwark_launcher_t");
}

// bulwark-dev-vsock as build_device_spec makes it: its listening socket as fd 4 (named as such),
// the VM's vsock directory bound read-only at /vsock, its domain and policy.
TEST(PolicyShow, VsockDeviceHasItsListenerAndTheVmsDirectoryReadOnly) {
  const json doc = json::parse(show({"show", "--json", "--policy-dir", kSeccompDir}));
  const json* vsock = process(doc, "dev-vsock");
  ASSERT_NE(vsock, nullptr);
  EXPECT_EQ((*vsock)["title"], "bulwark-dev-vsock");
  EXPECT_EQ((*vsock)["executable"], "/bulwark-dev-vsock");
  std::map<int, std::string> fds;
  for (const json& fd : (*vsock)["fds"]) fds[fd["fd"].get<int>()] = fd["from"].get<std::string>();
  EXPECT_EQ(fds[3], "its end of the vhost-user socketpair with the monitor");
  EXPECT_EQ(fds[4].rfind("the listening vsock socket", 0), 0u) << fds[4];
  const json& argv = (*vsock)["argv"];
  const auto uds = std::find(argv.begin(), argv.end(), "--uds-path");
  ASSERT_NE(uds, argv.end()) << argv.dump();
  EXPECT_EQ(*(uds + 1), "/vsock/v.sock");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--max-connections"), argv.end()) << argv.dump();
  bool bound = false;
  for (const json& entry : (*vsock)["jail_root"]) {
    bound = bound || (entry["path"] == "/vsock" && entry["type"] == "read-only bind mount" && !entry["exec"].get<bool>());
  }
  EXPECT_TRUE(bound) << (*vsock)["jail_root"].dump();
  const json& seccomp = (*vsock)["seccomp"];
  ASSERT_EQ(seccomp["status"], "loaded") << seccomp.dump();
  EXPECT_EQ(seccomp["files"][0], "dev-vsock.policy");
  EXPECT_EQ((*vsock)["selinux"]["domain"], "bulwark_dev_vsock_t");
}

// bulwark-dev-net as build_device_spec makes it for the representative NIC: its own jail with
// no network and no /dev, its socket as fd 3 and its TAP queue as fd 4 (named as such), its
// domain and what the module lets it do with the TAP fd.
TEST(PolicyShow, NetDeviceHasItsDomainAndItsTapQueueFd) {
  const json doc = json::parse(show({"show", "--json", "--policy-dir", kSeccompDir}));
  const json* net = process(doc, "dev-net");
  ASSERT_NE(net, nullptr);
  EXPECT_EQ((*net)["title"], "bulwark-dev-net");
  EXPECT_EQ((*net)["executable"], "/bulwark-dev-net");
  EXPECT_TRUE((*net)["dev"].empty()) << "a device process gets no /dev nodes";
  EXPECT_EQ((*net)["namespaces"]["net"], "always new and empty (jail.netns does not apply)");
  std::map<int, std::string> fds;
  for (const json& fd : (*net)["fds"]) fds[fd["fd"].get<int>()] = fd["from"].get<std::string>();
  EXPECT_EQ(fds[3], "its end of the vhost-user socketpair with the monitor");
  EXPECT_EQ(fds[4].rfind("TAP queue", 0), 0u) << fds[4];
  EXPECT_EQ(fds.count(5), 0u) << "one queue pair, one TAP fd";
  const json& argv = (*net)["argv"];
  const auto tap_flag = std::find(argv.begin(), argv.end(), "--tap-fd");
  ASSERT_NE(tap_flag, argv.end()) << argv.dump();
  EXPECT_EQ(*(tap_flag + 1), "4");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "52:54:00:12:34:56"), argv.end()) << argv.dump();
  const json& seccomp = (*net)["seccomp"];
  ASSERT_EQ(seccomp["status"], "loaded") << seccomp.dump();
  EXPECT_EQ(seccomp["files"][0], "dev-net.policy");
  EXPECT_EQ(seccomp["syscall_count"].get<size_t>(), syscall_count("dev-net.policy"));

  // The project's module (policy/selinux, found next to the seccomp directory).
  const json& selinux = (*net)["selinux"];
  EXPECT_EQ(selinux["domain"], "bulwark_dev_net_t");
  ASSERT_TRUE(selinux.contains("allow")) << selinux.dump();
  bool tap = false;
  for (const json& a : selinux["allow"]) {
    if (a["target"] != "tun_tap_device_t") continue;
    tap = true;
    EXPECT_EQ(a["class"], "chr_file");
    EXPECT_EQ(a["perms"], json::array({"getattr", "ioctl", "read", "write"})) << "no open";
  }
  EXPECT_TRUE(tap) << selinux.dump();
  ASSERT_EQ(selinux["ioctl_commands_only"].size(), 1u) << selinux.dump();
  const json& commands = selinux["ioctl_commands_only"][0]["commands"];
  EXPECT_NE(std::find(commands.begin(), commands.end(), "0x54d0"), commands.end()) << "TUNSETOFFLOAD";
  EXPECT_EQ(std::find(commands.begin(), commands.end(), "0x54ca"), commands.end()) << "never TUNSETIFF";
  const std::string text = show({"show", "--policy-dir", kSeccompDir});
  EXPECT_NE(text.find("tun_tap_device_t:chr_file ioctl commands only { 0x54d0"), std::string::npos) << text;
}

// bulwark-api as build_api_spec makes it: its own jail <id>.api with no network and no /dev,
// the listening API socket as fd 3 and the command channel to the launcher as fd 4 (named as
// such), its policy api.policy and its domain, which the module lets use its own sockets and
// touch nothing of the guest's.
TEST(PolicyShow, ApiProcessHasItsPolicyDomainAndSockets) {
  const json doc = json::parse(show({"show", "--json", "--policy-dir", kSeccompDir}));
  const json* api = process(doc, "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ((*api)["title"], "bulwark-api");
  EXPECT_EQ((*api)["jailed"], true);
  EXPECT_EQ((*api)["executable"], "/bulwark-api");
  EXPECT_TRUE((*api)["dev"].empty()) << "the API process gets no /dev nodes";
  EXPECT_EQ((*api)["namespaces"]["net"], "always new and empty (jail.netns does not apply)");
  EXPECT_NE((*api)["namespaces"]["root"].get<std::string>().find("/<id>.api/root"), std::string::npos)
      << (*api)["namespaces"].dump();
  EXPECT_EQ((*api)["capabilities"], json::array());
  std::map<int, std::string> fds;
  for (const json& fd : (*api)["fds"]) fds[fd["fd"].get<int>()] = fd["from"].get<std::string>();
  EXPECT_EQ(fds[0], "/dev/null");
  EXPECT_EQ(fds[3].rfind("the listening API socket", 0), 0u) << fds[3];
  EXPECT_EQ(fds[4].rfind("its end of the SOCK_SEQPACKET command channel to the launcher", 0), 0u) << fds[4];
  EXPECT_EQ(fds.count(5), 0u) << (*api)["fds"].dump();
  // Its limits do not follow the guest: it never maps guest memory.
  EXPECT_EQ((*api)["cgroup"]["memory_max_bytes"]["follows"], json::array()) << (*api)["cgroup"].dump();
  EXPECT_EQ((*api)["rlimits"]["RLIMIT_FSIZE"]["value"], 0) << "it writes no files";
  const json& seccomp = (*api)["seccomp"];
  ASSERT_EQ(seccomp["status"], "loaded") << seccomp.dump();
  EXPECT_EQ(seccomp["files"][0], "api.policy");
  EXPECT_EQ(seccomp["syscall_count"].get<size_t>(), syscall_count("api.policy"));

  const json& selinux = (*api)["selinux"];
  EXPECT_EQ(selinux["domain"], "bulwark_api_t");
  EXPECT_EQ(selinux["context"], "system_u:system_r:bulwark_api_t:s0:cA,cB (the VM's category pair)");
  ASSERT_TRUE(selinux.contains("allow")) << selinux.dump();
  bool own_sockets = false;
  for (const json& a : selinux["allow"]) {
    const std::string target = a["target"];
    EXPECT_NE(target, "bulwark_vm_tmpfs_t") << "no guest RAM: " << selinux.dump();
    EXPECT_NE(target, "kvm_device_t") << selinux.dump();
    EXPECT_NE(target, "bulwark_image_t") << selinux.dump();
    EXPECT_NE(target, "tun_tap_device_t") << selinux.dump();
    EXPECT_NE(a.value("via_attribute", ""), "bulwark_device_domain") << "not a device: " << selinux.dump();
    if (target == "self" && a["class"] == "unix_stream_socket") {
      own_sockets = true;
      EXPECT_EQ(a.value("via_attribute", ""), "bulwark_vm_domain");
    }
  }
  EXPECT_TRUE(own_sockets) << selinux.dump();
}

TEST(PolicyShow, MissingDevicePolicyIsReportedNotFatal) {
  TempTree tree;
  tree.copy_project_policy();
  std::filesystem::remove(tree.path() + "/seccomp/dev-rng.policy");
  const json doc = json::parse(show({"show", "--json", "--policy-dir", tree.path()}));
  EXPECT_EQ((*process(doc, "dev-rng"))["seccomp"]["status"], "missing");
  EXPECT_EQ((*process(doc, "monitor-main"))["selinux"]["module"], "module not built");
}

TEST(PolicyShow, SummarisesTheSelinuxModuleForEachDomain) {
  TempTree tree;
  tree.copy_project_policy();
  tree.write("selinux/bulwark.te",
             "policy_module(bulwark, 1.0)\n"
             "type bulwark_vm_t, bulwark_domain;\n"
             "allow bulwark_vm_t kvm_device_t:chr_file { read write ioctl open };\n"
             "allow bulwark_domain self:process { signal };\n"
             "allow bulwark_dev_blk_t bulwark_image_t:file rw_file_perms;\n"
             "optional_policy(`\n  kernel_read_system_state(bulwark_vm_t)\n')\n");
  const json doc = json::parse(show({"show", "--json", "--policy-dir", tree.path()}));
  const json& vm = (*process(doc, "monitor-vcpu"))["selinux"];
  ASSERT_TRUE(vm.contains("allow")) << vm.dump();
  ASSERT_EQ(vm["allow"].size(), 2u) << vm.dump();
  EXPECT_EQ(vm["allow"][0]["target"], "kvm_device_t");
  EXPECT_EQ(vm["allow"][0]["perms"], json::array({"ioctl", "open", "read", "write"}));
  EXPECT_EQ(vm["allow"][1]["via_attribute"], "bulwark_domain");
  ASSERT_EQ(vm["interface_calls"].size(), 1u);
  const json& blk = (*process(doc, "dev-blk"))["selinux"];
  ASSERT_EQ(blk["allow"].size(), 1u) << blk.dump();
  EXPECT_EQ(blk["allow"][0]["perms"], json::array({"rw_file_perms"}));
  EXPECT_TRUE((*process(doc, "dev-rng"))["selinux"]["allow"].empty());
}

TEST(PolicyShow, BadArgumentsAreErrors) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_policy_command({"show", "--frobnicate"}), kPolicyExitError);
  EXPECT_EQ(run_policy_command({"show", "--policy-dir"}), kPolicyExitError);
  EXPECT_EQ(run_policy_command({"show", "--policy-dir", "/nonexistent/policy"}), kPolicyExitError);
  EXPECT_EQ(run_policy_command({"nonsense"}), kPolicyExitError);
  EXPECT_EQ(run_policy_command({}), kPolicyExitError);
  EXPECT_EQ(run_policy_command({"diff", "/tmp"}), kPolicyExitError);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace bulwark::policy_cli
