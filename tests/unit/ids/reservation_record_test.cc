#include "jailer/ids/reservation_record.h"

#include <gtest/gtest.h>

namespace bulwark::jailer {
namespace {

TEST(ReservationRecord, FormatsAndParsesBack) {
  const ReservationRecord record{4321, "web-1.prod_a"};
  EXPECT_EQ(format_reservation_record(record), "pid=4321\nvm=web-1.prod_a\n");
  auto parsed = parse_reservation_record("pid=4321\nvm=web-1.prod_a\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, record);
}

TEST(ReservationRecord, AcceptsTheLargestPossiblePid) {
  auto parsed = parse_reservation_record("pid=4194304\nvm=a\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->pid, 4194304);
}

void expect_refused(std::string_view text, std::string_view message) {
  auto parsed = parse_reservation_record(text);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
  EXPECT_EQ(parsed.error().message(), message) << "for: " << text;
}

TEST(ReservationRecord, RefusesMalformedRecordsPrecisely) {
  expect_refused("", "reservation record: expected 'pid=' line");
  expect_refused("vm=a\npid=1\n", "reservation record: expected 'pid=' line");
  expect_refused("pid=\nvm=a\n", "reservation record: pid is empty");
  expect_refused("pid=0\nvm=a\n", "reservation record: pid has a leading zero or is zero");
  expect_refused("pid=012\nvm=a\n", "reservation record: pid has a leading zero or is zero");
  expect_refused("pid=-12\nvm=a\n", "reservation record: pid is not a decimal number");
  expect_refused("pid=4194305\nvm=a\n", "reservation record: pid 4194305 exceeds the kernel's limit");
  expect_refused("pid=99999999999\nvm=a\n", "reservation record: pid is too long");
  expect_refused("pid=12", "reservation record: 'pid' line is not newline-terminated");
  expect_refused("pid=12\nvm=a", "reservation record: 'vm' line is not newline-terminated");
  expect_refused("pid=12\nvm=a/x\n",
                 "reservation record: VM id has a character outside [A-Za-z0-9._-]");
  expect_refused("pid=12\nvm=\n", "reservation record: VM id is empty");
  expect_refused("pid=12\nvm=a\nmore\n", "reservation record: trailing bytes after the 'vm' line");
  expect_refused(std::string(129, 'p'), "reservation record is longer than 128 bytes");
}

TEST(VmIdValidation, AcceptsOrdinaryNamesAndRefusesPathsAndOptions) {
  EXPECT_TRUE(validate_vm_id("tenant-42.web_1").ok());
  EXPECT_TRUE(validate_vm_id(std::string(64, 'v')).ok());
  EXPECT_EQ(validate_vm_id(std::string(65, 'v')).error().message(),
            "VM id is longer than 64 characters");
  EXPECT_EQ(validate_vm_id("-rf").error().message(), "VM id starts with '.' or '-'");
  EXPECT_EQ(validate_vm_id("..").error().message(), "VM id starts with '.' or '-'");
  EXPECT_FALSE(validate_vm_id("a/b").ok());
  EXPECT_FALSE(validate_vm_id("a b").ok());
  EXPECT_FALSE(validate_vm_id(std::string_view("a\0b", 3)).ok());
}

}  // namespace
}  // namespace bulwark::jailer
