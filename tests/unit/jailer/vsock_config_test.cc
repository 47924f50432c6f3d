// A virtio-vsock per VM (issue 17): the tenant's "vsock" in vm.json (Firecracker's guest_cid and
// uds_path), allowed only where the operator's host config has "vsock" with its directory; the
// socket's name is a plain name inside that directory, never a host path the tenant picks.
#include <gtest/gtest.h>

#include <string>

#include "jailer/host_config.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {
namespace {

Result<HostConfig> host_with_vsock(const std::string& vsock) { return parse_host_config(R"({"vsock": )" + vsock + "}"); }

std::string host_error(const std::string& vsock) {
  auto host = host_with_vsock(vsock);
  return host.ok() ? "<accepted>" : host.error().message();
}

HostConfig vsock_host() {
  HostConfig host;
  host.vsock.dir = "/run/bulwark/vsock";
  return host;
}

// The tenant's file through both steps (parse, then the operator's settings) as VM `id`.
std::string vm_error(const std::string& vsock, const HostConfig& host = vsock_host(), const std::string& id = "vm-1") {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "vsock": )" + vsock + "}");
  if (!parsed.ok()) return parsed.error().message();
  Status s = apply_operator_settings(host, OperatorChoices{id, "", {}}, *parsed);
  return s.ok() ? "<accepted>" : s.error().message();
}

TEST(VsockHostConfigTest, AbsentMeansNoVsockAndTheDefaultsAreTheDevicesOwn) {
  auto none = parse_host_config("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->vsock.enabled());
  EXPECT_NE(describe_host_config(*none).find("vsock = (none"), std::string::npos);
  auto host = host_with_vsock(R"({"dir": "/run/bulwark/vsock"})");
  ASSERT_TRUE(host.ok()) << host.error().message();
  EXPECT_EQ(host->vsock.dir, "/run/bulwark/vsock");
  EXPECT_EQ(host->vsock.max_connections, 64u);
  EXPECT_EQ(host->vsock.buf_alloc_bytes, 262144u);
  auto set = host_with_vsock(R"({"dir": "/srv/vs", "max_connections": 4096, "buf_alloc_bytes": 4096})");
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(set->vsock.max_connections, 4096u);
  EXPECT_EQ(set->vsock.buf_alloc_bytes, 4096u);
  EXPECT_NE(describe_host_config(*set).find("vsock.max_connections = 4096"), std::string::npos);
  auto binary = parse_host_config(R"({"dev_vsock": "/opt/bulwark-dev-vsock"})");
  ASSERT_TRUE(binary.ok());
  EXPECT_EQ(binary->dev_vsock, "/opt/bulwark-dev-vsock");
}

TEST(VsockHostConfigTest, BadValuesAreRefusedByPointer) {
  EXPECT_EQ(host_error("true"), "host config: /vsock: expected an object, got true");
  EXPECT_EQ(host_error("{}"), "host config: /vsock/dir: required: the directory each VM's vsock sockets are made in "
                              "(<dir>/<vm id>/)");
  for (const char* dir : {R"("relative")", R"("/")", R"("/a/../b")", R"("/a//b")", R"("")"}) {
    EXPECT_EQ(host_error(std::string(R"({"dir": )") + dir + "}").rfind("host config: /vsock/dir: ", 0), 0u) << dir;
  }
  EXPECT_EQ(host_error(R"({"dir": "/v", "max_connections": 0})").rfind("host config: /vsock/max_connections: ", 0), 0u);
  EXPECT_EQ(host_error(R"({"dir": "/v", "max_connections": 4097})").rfind("host config: /vsock/max_connections: ", 0),
            0u);
  EXPECT_EQ(host_error(R"({"dir": "/v", "buf_alloc_bytes": 4095})").rfind("host config: /vsock/buf_alloc_bytes: ", 0),
            0u);
  EXPECT_EQ(host_error(R"({"dir": "/v", "buf_alloc_bytes": 16777217})").rfind("host config: /vsock/buf_alloc_bytes: ", 0),
            0u);
  EXPECT_EQ(host_error(R"({"dir": "/v", "uds_path": "x"})"),
            "host config: /vsock/uds_path: unknown field (dir, max_connections or buf_alloc_bytes)");
  EXPECT_EQ(parse_host_config(R"({"dev_vsock": "bulwark-dev-vsock"})").ok(), false);
}

TEST(VsockVmConfigTest, AVsockIsReadWithFirecrackersFieldNames) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "vsock": {"guest_cid": 3, "uds_path": "v.sock"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(parsed->vsock.has_value());
  EXPECT_EQ(*parsed->vsock, (VsockSettings{3, "v.sock"}));
  ASSERT_TRUE(apply_operator_settings(vsock_host(), OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  EXPECT_EQ(parsed->vsock_host.dir, "/run/bulwark/vsock");
  EXPECT_EQ(vm_vsock_socket_path(parsed->vsock_host, "vm-1", *parsed->vsock), "/run/bulwark/vsock/vm-1/v.sock");
  EXPECT_EQ(vm_error(R"({"guest_cid": 4294967294, "uds_path": "kata.hvsock"})"), "<accepted>");
  // No vsock asked: none, even where the host offers one.
  auto without = parse_launch_config(R"({"kernel": "/k"})");
  ASSERT_TRUE(without.ok());
  ASSERT_TRUE(apply_operator_settings(vsock_host(), OperatorChoices{"vm-1", "", {}}, *without).ok());
  EXPECT_FALSE(without->vsock.has_value());
  EXPECT_FALSE(without->vsock_host.enabled());
}

TEST(VsockVmConfigTest, ReservedCidsAreRefused) {
  for (const char* cid : {"0", "1", "2", "4294967295", "4294967296", "-3", "3.5", "\"3\""}) {
    EXPECT_EQ(vm_error(std::string(R"({"guest_cid": )") + cid + R"(, "uds_path": "v.sock"})").rfind(
                  "config: /vsock/guest_cid: ", 0),
              0u)
        << cid;
  }
}

TEST(VsockVmConfigTest, AUdsPathThatIsNotAPlainNameIsRefused) {
  for (const char* name : {"/tmp/evil.sock", "../evil", "a/b", ".", "..", "", "sub/", "with space", "new\\nline",
                           "nul\\u0000byte"}) {
    const std::string error = vm_error(std::string(R"({"guest_cid": 3, "uds_path": ")") + name + "\"}");
    EXPECT_EQ(error.rfind("config: /vsock/uds_path: expected a file name of 1 to 64 bytes", 0), 0u)
        << name << ": " << error;
  }
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": ")" + std::string(64, 'a') + "\"}"), "<accepted>");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": ")" + std::string(65, 'a') + "\"}").rfind(
                "config: /vsock/uds_path: expected a file name", 0),
            0u);
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": 5})").rfind("config: /vsock/uds_path: expected a string", 0), 0u);
}

TEST(VsockVmConfigTest, MissingOrUnknownFieldsAndOperatorSettingsAreRefusedByName) {
  EXPECT_EQ(vm_error(R"({"uds_path": "v"})"), "config: /vsock/guest_cid: required");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3})"), "config: /vsock/uds_path: required");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v", "vsock_id": "x"})"),
            "config: /vsock/vsock_id: unknown field (guest_cid or uds_path)");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v", "dir": "/tmp"})"),
            "config: /vsock/dir: an operator setting; a VM config may not set it (the host config's vsock.dir)");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v", "max_connections": 100000})"),
            "config: /vsock/max_connections: an operator setting; a VM config may not set it (the host config's "
            "vsock.max_connections)");
  // One vsock per VM: an object, not a list of them.
  EXPECT_EQ(vm_error(R"([{"guest_cid": 3, "uds_path": "v"}])").rfind("config: /vsock: expected an object", 0), 0u);
  EXPECT_EQ(parse_launch_config(R"({"kernel": "/k", "dev_vsock": "/bin/sh"})").error().message().rfind(
                "config: /dev_vsock: an operator setting", 0),
            0u);
}

TEST(VsockVmConfigTest, WithoutTheOperatorsDirectoryAVsockIsRefused) {
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v.sock"})", HostConfig{}),
            "config: /vsock: a vsock device is not available on this host: the operator's host config has no "
            "\"vsock\" (with its \"dir\")");
}

TEST(VsockVmConfigTest, TheHostSocketPathMustFitAUnixSocketAddress) {
  HostConfig host = vsock_host();
  host.vsock.dir = "/" + std::string(60, 'd');
  // 61 + 1 + 4 + 1 + 30 = 97 bytes, plus "_4294967295": 108 > 107.
  const std::string error = vm_error(R"({"guest_cid": 3, "uds_path": ")" + std::string(30, 'n') + "\"}", host);
  EXPECT_EQ(error.rfind("config: /vsock/uds_path: the host socket ", 0), 0u) << error;
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": ")" + std::string(29, 'n') + "\"}", host), "<accepted>");
}

TEST(VsockVmConfigTest, AVmIdLeavesRoomForTheDevicesJailName) {
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v"})", vsock_host(), std::string(58, 'a')), "<accepted>");
  EXPECT_EQ(vm_error(R"({"guest_cid": 3, "uds_path": "v"})", vsock_host(), std::string(59, 'a')),
            "config: --id: at most 58 characters for a VM with a vsock device (its jail is <id>.vsock)");
}

}  // namespace
}  // namespace bulwark::jail
