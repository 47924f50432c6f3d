// The launcher names the system call of a seccomp kill from the kernel's audit record.
#include "jailer/seccomp_audit.h"

#include <gtest/gtest.h>

namespace bulwark::jail {
namespace {

constexpr const char* kKill =
    "12,8812,11103761362,-;audit: type=1326 audit(1795280997.041:1037): auid=4294967295 uid=200000 "
    "gid=200000 ses=4294967295 pid=15590 comm=\"bulwark-monitor\" exe=\"/bulwark-monitor\" sig=31 "
    "arch=c000003e syscall=41 compat=0 ip=0x7fc8aed1618f code=0x80000000\n";

TEST(SeccompAuditRecord, KillRecordGivesPidSignalArchAndSyscall) {
  auto record = parse_seccomp_audit_record(kKill);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->pid, 15590);
  EXPECT_EQ(record->signal, 31);
  EXPECT_EQ(record->arch, 0xc000003eu);
  EXPECT_EQ(record->syscall, 41);
}

TEST(SeccompAuditRecord, OtherRecordsAreIgnored) {
  EXPECT_FALSE(parse_seccomp_audit_record("6,1,2,-;kvm-pvm: triple fault rip=0x100815\n"));
  EXPECT_FALSE(parse_seccomp_audit_record(
      "5,3,4,-;audit: type=1400 audit(1.1:2): avc: denied pid=7 sig=31 arch=c000003e syscall=41\n"));
  EXPECT_FALSE(parse_seccomp_audit_record("no prefix type=1326 pid=1 sig=31 arch=c000003e syscall=1"));
}

TEST(SeccompAuditRecord, NamesAProcessChoseCannotPoseAsFields) {
  // comm= is the process's own name; only whole tokens count, so "comm=pid=1" is not a pid.
  auto record = parse_seccomp_audit_record(
      "12,1,2,-;audit: type=1326 audit(1.1:2): comm=\"pid=1\" pid=77 sig=31 arch=c000003e syscall=59\n");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->pid, 77);
  EXPECT_EQ(record->syscall, 59);
}

TEST(SeccompAuditRecord, DuplicateOrMalformedFieldsAreRefused) {
  EXPECT_FALSE(parse_seccomp_audit_record(
      "12,1,2,-;audit: type=1326 audit(1.1:2): pid=7 pid=8 sig=31 arch=c000003e syscall=59\n"));
  EXPECT_FALSE(parse_seccomp_audit_record(
      "12,1,2,-;audit: type=1326 audit(1.1:2): pid=7x sig=31 arch=c000003e syscall=59\n"));
  EXPECT_FALSE(parse_seccomp_audit_record(
      "12,1,2,-;audit: type=1326 audit(1.1:2): pid=7 sig=31 arch=c000003e\n"));
  EXPECT_FALSE(parse_seccomp_audit_record(
      "12,1,2,-;audit: type=1326 audit(1.1:2): pid= sig=31 arch=c000003e syscall=1\n"));
}

}  // namespace
}  // namespace bulwark::jail
