// A vTPM per VM (issue 16): the tenant's "tpm": true in vm.json, allowed only where the
// operator's host config has "tpm" with a state directory; both parsers refuse by JSON pointer.
#include <gtest/gtest.h>

#include <string>

#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {
namespace {

Result<HostConfig> host_with(const std::string& tpm) { return parse_host_config(R"({"tpm": )" + tpm + "}"); }

TEST(TpmHostConfigTest, AbsentMeansNoTpmsOnThisHost) {
  auto host = parse_host_config("{}");
  ASSERT_TRUE(host.ok());
  EXPECT_FALSE(host->tpm.enabled());
  EXPECT_NE(describe_host_config(*host).find("tpm = (none"), std::string::npos);
}

TEST(TpmHostConfigTest, StateDirAndBinariesAreRead) {
  auto host = host_with(R"({"state_dir": "/var/lib/bulwark/tpm", "swtpm": "/opt/swtpm", "swtpm_setup": ""})");
  ASSERT_TRUE(host.ok()) << host.error().message();
  EXPECT_TRUE(host->tpm.enabled());
  EXPECT_EQ(host->tpm.state_dir, "/var/lib/bulwark/tpm");
  EXPECT_EQ(host->tpm.swtpm, "/opt/swtpm");
  EXPECT_EQ(host->tpm.swtpm_setup, "");
  EXPECT_NE(describe_host_config(*host).find("tpm.swtpm_setup = /usr/bin/swtpm_setup"), std::string::npos);
}

TEST(TpmHostConfigTest, BadValuesAreRefusedByPointer) {
  EXPECT_EQ(host_with("true").error().message(), "host config: /tpm: expected an object, got true");
  EXPECT_EQ(host_with("{}").error().message(),
            "host config: /tpm/state_dir: required: the directory each VM's TPM state is kept in");
  EXPECT_NE(host_with(R"({"state_dir": "relative"})").error().message().find("host config: /tpm/state_dir: "),
            std::string::npos);
  EXPECT_NE(host_with(R"({"state_dir": "/"})").error().message().find("host config: /tpm/state_dir: "),
            std::string::npos);
  EXPECT_NE(host_with(R"({"state_dir": "/a/../b"})").error().message().find("host config: /tpm/state_dir: "),
            std::string::npos);
  EXPECT_NE(host_with(R"({"state_dir": "/t", "swtpm": "swtpm"})").error().message().find("host config: /tpm/swtpm: "),
            std::string::npos);
  EXPECT_EQ(host_with(R"({"state_dir": "/t", "ek": true})").error().message(),
            "host config: /tpm/ek: unknown field (state_dir, swtpm, swtpm_setup or report_key)");
}

Result<LaunchConfig> launch_on(const std::string& vm, const HostConfig& host) {
  auto parsed = parse_launch_config(vm);
  if (!parsed.ok()) return parsed.error();
  BULWARK_TRY(apply_operator_settings(host, OperatorChoices{"vm-1", "", {}}, *parsed));
  return parsed;
}

TEST(TpmVmConfigTest, ATenantsTpmNeedsTheOperatorsTpm) {
  auto refused = launch_on(R"({"kernel": "/k", "tpm": true})", HostConfig{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "config: /tpm: a TPM is not available on this host: the operator's host config has no \"tpm\" "
            "(with its \"state_dir\")");
  auto host = host_with(R"({"state_dir": "/var/lib/bulwark/tpm"})");
  ASSERT_TRUE(host.ok());
  auto allowed = launch_on(R"({"kernel": "/k", "tpm": true})", *host);
  ASSERT_TRUE(allowed.ok()) << allowed.error().message();
  EXPECT_TRUE(allowed->tpm);
  EXPECT_EQ(allowed->tpm_host.state_dir, "/var/lib/bulwark/tpm");
}

TEST(TpmVmConfigTest, NoTpmAskedGetsNoneEvenWhereTheHostOffersOne) {
  auto host = host_with(R"({"state_dir": "/var/lib/bulwark/tpm"})");
  ASSERT_TRUE(host.ok());
  for (const char* vm : {R"({"kernel": "/k"})", R"({"kernel": "/k", "tpm": false})"}) {
    auto launch = launch_on(vm, *host);
    ASSERT_TRUE(launch.ok()) << launch.error().message();
    EXPECT_FALSE(launch->tpm) << vm;
    EXPECT_FALSE(launch->tpm_host.enabled()) << vm;
  }
  // A tenant cannot reach the operator's settings through its "tpm".
  auto object = parse_launch_config(R"({"kernel": "/k", "tpm": {"state_dir": "/tmp"}})");
  ASSERT_FALSE(object.ok());
  EXPECT_EQ(object.error().message().rfind("config: /tpm: ", 0), 0u) << object.error().message();
}

}  // namespace
}  // namespace bulwark::jail
