// Runs the real `bulwark policy` commands on the project's own policy files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/seccomp_policy/policy_loader.h"

namespace {

struct CommandRun {
  int exit_code = -1;
  std::string out;
};

CommandRun run(const std::string& args) {
  CommandRun result;
  const std::string command = std::string(BULWARK_BINARY) + " policy " + args + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(PolicyCliEndToEnd, CheckIsCleanOnTheProjectsFiles) {
  const CommandRun check = run("check");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("0 finding(s)"), std::string::npos) << check.out;
}

TEST(PolicyCliEndToEnd, ShowJsonDescribesEveryProcessKind) {
  const CommandRun show = run("show --json");
  ASSERT_EQ(show.exit_code, 0) << show.out;
  const nlohmann::json doc = nlohmann::json::parse(show.out);
  std::vector<std::string> kinds;
  for (const auto& p : doc["processes"]) kinds.push_back(p["kind"]);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"launcher", "monitor-main", "monitor-vcpu", "dev-blk", "dev-rng", "dev-net",
                                      "dev-vsock", "api"}));
  const auto vcpu = bulwark::policy::load_seccomp_policy_file(std::string(BULWARK_SOURCE_POLICY_DIR) +
                                                              "/seccomp/monitor-vcpu.policy");
  ASSERT_TRUE(vcpu.ok());
  EXPECT_EQ(doc["processes"][2]["seccomp"]["syscall_count"].get<size_t>(), vcpu->rules.size());
}

// Auditors read the operator's ceilings and ranges next to the policies.
TEST(PolicyCliEndToEnd, ShowPrintsTheOperatorSettingsInEffect) {
  char dir_template[] = "/tmp/bulwark-show-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string host = std::string(dir_template) + "/host.json";
  FILE* file = std::fopen(host.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs(R"({"id_range": [300000, 300099], "vm_limits": {"max_memory_mib": 2048}})", file);
  std::fclose(file);
  const CommandRun show = run("show --host-config " + host);
  std::remove(host.c_str());
  ::rmdir(dir_template);
  ASSERT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("Operator settings in effect (host config " + host + "):"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("id_range = 300000..300099"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("vm_limits.max_memory_mib = 2048"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("network_namespaces = (none)"), std::string::npos) << show.out;
}

// bulwark-dev-net in the installed form of the listing: its domain, its TAP queue fd, its policy.
TEST(PolicyCliEndToEnd, ShowTextListsTheNetDeviceWithItsTapFd) {
  const CommandRun show = run("show");
  ASSERT_EQ(show.exit_code, 0) << show.out;
  const size_t net = show.out.find("== dev-net: bulwark-dev-net ==");
  ASSERT_NE(net, std::string::npos) << show.out;
  const std::string section = show.out.substr(net, show.out.find("\n== ", net + 1) - net);
  EXPECT_NE(section.find("SELinux domain:  bulwark_dev_net_t"), std::string::npos) << section;
  EXPECT_NE(section.find("4: TAP queue"), std::string::npos) << section;
  EXPECT_NE(section.find("dev-net.policy + device-common.policy:"), std::string::npos) << section;
  EXPECT_NE(section.find("--tap-fd 4"), std::string::npos) << section;
}

// bulwark-api in the installed form of the listing: its domain, its two sockets, its policy.
TEST(PolicyCliEndToEnd, ShowTextListsTheApiProcessWithItsSockets) {
  const CommandRun show = run("show");
  ASSERT_EQ(show.exit_code, 0) << show.out;
  const size_t api = show.out.find("== api: bulwark-api ==");
  ASSERT_NE(api, std::string::npos) << show.out;
  const size_t next = show.out.find("\n== ", api + 1);
  const std::string section = show.out.substr(api, next == std::string::npos ? std::string::npos : next - api);
  EXPECT_NE(section.find("SELinux domain:  bulwark_api_t  (system_u:system_r:bulwark_api_t:s0:cA,cB"),
            std::string::npos)
      << section;
  EXPECT_NE(section.find("3: the listening API socket"), std::string::npos) << section;
  EXPECT_NE(section.find("4: its end of the SOCK_SEQPACKET command channel"), std::string::npos) << section;
  EXPECT_NE(section.find("Seccomp:         api.policy"), std::string::npos) << section;
  EXPECT_EQ(section.find("bulwark_vm_tmpfs_t"), std::string::npos) << "no guest RAM\n" << section;
}

TEST(PolicyCliEndToEnd, DiffOfATreeWithItselfHasNoChanges) {
  const CommandRun diff = run(std::string("diff ") + BULWARK_SOURCE_POLICY_DIR + " " + BULWARK_SOURCE_POLICY_DIR);
  EXPECT_EQ(diff.exit_code, 0) << diff.out;
  EXPECT_EQ(diff.out, "no changes\n");
}

TEST(PolicyCliEndToEnd, HelpListsTheCommands) {
  const CommandRun help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("bulwark policy diff OLD_DIR NEW_DIR"), std::string::npos) << help.out;
}

}  // namespace
