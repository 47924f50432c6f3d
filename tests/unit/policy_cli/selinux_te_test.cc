#include "jailer/policy_cli/selinux_te.h"

#include <gtest/gtest.h>

namespace bulwark::policy_cli {
namespace {

TEST(SelinuxTe, ExpandsBraceSetsAndIgnoresOtherRuleKinds) {
  TeModule module;
  parse_te_text("# allow commented_t x:file read;\n"
                "allow { a_t b_t } { c_t self }:{ file dir } { read getattr };\n"
                "neverallow a_t c_t:file write;\n"
                "dontaudit a_t c_t:file write;\n"
                "auditallow a_t c_t:file append;\n"
                "allow broken_t\n",
                "x.te", module);
  ASSERT_EQ(module.allows.size(), 1u);
  EXPECT_EQ(module.allows[0].line, 2);
  const std::set<std::string> statements = te_statements(module);
  EXPECT_EQ(statements.size(), 16u);
  EXPECT_EQ(statements.count("allow a_t self:dir getattr"), 1u);
  EXPECT_EQ(statements.count("allow a_t c_t:file write"), 0u);
}

// The API process is declared by bulwark_vm_domain_template(api), a device by
// bulwark_device_domain_template: each is listed with the rules of the attributes they give it,
// and the API process with none of the devices'.
TEST(SelinuxTe, BulwarkTemplatesGiveTheirDomainsTheirAttributes) {
  TeModule module;
  parse_te_text("bulwark_device_domain_template(dev_net)\n"
                "bulwark_vm_domain_template(api)\n"
                "allow bulwark_vm_domain self:unix_stream_socket { read write };\n"
                "allow bulwark_device_domain bulwark_vm_tmpfs_t:file { read map };\n"
                "allow bulwark_api_t bulwark_vm_t:unix_stream_socket write;\n",
                "bulwark.te", module);
  const auto api = domain_access(module, "bulwark_api_t");
  ASSERT_EQ(api.size(), 2u);
  EXPECT_EQ(api[0].target, "bulwark_vm_t");
  EXPECT_EQ(api[0].via, "");
  EXPECT_EQ(api[1].target, "self");
  EXPECT_EQ(api[1].via, "bulwark_vm_domain");
  const auto net = domain_access(module, "bulwark_dev_net_t");
  ASSERT_EQ(net.size(), 2u);
  EXPECT_EQ(net[0].target, "bulwark_vm_tmpfs_t");
  EXPECT_EQ(net[0].via, "bulwark_device_domain");
  EXPECT_TRUE(domain_access(module, "bulwark_dev_rng_t").empty()) << "not declared here";
}

TEST(SelinuxTe, AttributesAndInterfaceCallsBelongToTheDomain) {
  TeModule module;
  parse_te_text("type vm_t, domains_a, domains_b;\n"
                "typeattribute other_t domains_a;\n"
                "allow domains_a tmp_t:file read;\n"
                "allow vm_t tmp_t:file write;\n"
                "gen_require(`\n  type tmp_t;\n')\n"
                "files_read_etc_files(vm_t)\n"
                "files_read_etc_files(other_t)\n",
                "x.te", module);
  const auto access = domain_access(module, "vm_t");
  ASSERT_EQ(access.size(), 2u);
  EXPECT_EQ(access[0].via, "");
  EXPECT_EQ(access[0].perms, std::set<std::string>{"write"});
  EXPECT_EQ(access[1].via, "domains_a");
  const auto calls = domain_calls(module, "vm_t");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]->text, "files_read_etc_files(vm_t)");
  EXPECT_EQ(calls[0]->line, 8);
  EXPECT_TRUE(domain_access(module, "unknown_t").empty());
}

TEST(SelinuxTe, IoctlCommandListsAreKeptApartFromAllowRules) {
  TeModule module;
  parse_te_text("type net_t, devices;\n"
                "allow net_t tun_t:chr_file { read write ioctl };\n"
                "allowxperm net_t tun_t:chr_file ioctl { 0x54d0 0x54d2 };\n"
                "allowxperm devices tun_t:chr_file ioctl 0x54d9;\n"
                "allowxperm net_t tun_t:chr_file { 0x54ca };\n",  // no "ioctl": not understood
                "x.te", module);
  ASSERT_EQ(module.allows.size(), 1u);
  ASSERT_EQ(module.ioctl_allows.size(), 2u);
  const auto commands = domain_ioctl_commands(module, "net_t");
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].target, "tun_t");
  EXPECT_EQ(commands[0].object_class, "chr_file");
  EXPECT_EQ(commands[0].perms, (std::set<std::string>{"0x54d0", "0x54d2"}));
  EXPECT_EQ(commands[1].via, "devices");
  EXPECT_EQ(domain_access(module, "net_t").size(), 1u);
  const std::set<std::string> statements = te_statements(module);
  EXPECT_EQ(statements.count("allowxperm net_t tun_t:chr_file ioctl 0x54d0"), 1u);
  EXPECT_EQ(statements.count("allowxperm devices tun_t:chr_file ioctl 0x54d9"), 1u);
  EXPECT_EQ(statements.count("allowxperm net_t tun_t:chr_file ioctl 0x54ca"), 0u);
}

}  // namespace
}  // namespace bulwark::policy_cli
