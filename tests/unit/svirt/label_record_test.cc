#include "jailer/svirt/label_record.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::jailer {
namespace {

const std::string kSharedLabelRecord =
    "bulwark-label 1\n"
    "original=system_u:object_r:var_t:s0\n"
    "label=system_u:object_r:bulwark_content_t:s0\n"
    "user=vm-a ro-shared\n"
    "user=vm.b_2 ro-shared\n";

TEST(LabelRecord, ParsesWhatItFormats) {
  auto parsed = parse_label_record(kSharedLabelRecord);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->original, "system_u:object_r:var_t:s0");
  EXPECT_EQ(parsed->label, "system_u:object_r:bulwark_content_t:s0");
  ASSERT_EQ(parsed->users.size(), 2u);
  EXPECT_EQ(parsed->users[1], (LabelUser{"vm.b_2", LabelAccess::kReadOnlyShared}));
  EXPECT_EQ(*format_label_record(*parsed), kSharedLabelRecord);

  LabelRecord none{std::nullopt, "system_u:object_r:bulwark_image_t:s0:c1,c2",
                   {{"vm-a", LabelAccess::kReadWrite}}};
  auto text = format_label_record(none);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "bulwark-label 1\noriginal=\nlabel=system_u:object_r:bulwark_image_t:s0:c1,c2\n"
                   "user=vm-a rw\n");
  EXPECT_EQ(*parse_label_record(*text), none);
  // MCS ranges are contexts too.
  LabelRecord range{"unconfined_u:object_r:user_home_t:s0-s0:c0.c1023",
                    "system_u:object_r:bulwark_content_t:s0:c3,c9", {{"vm-c", LabelAccess::kReadOnly}}};
  EXPECT_EQ(*parse_label_record(*format_label_record(range)), range);
}

TEST(LabelRecord, RemoveDropsOneUser) {
  auto parsed = parse_label_record(kSharedLabelRecord);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->remove("vm-a"));
  EXPECT_FALSE(parsed->remove("vm-a"));
  EXPECT_EQ(parsed->find("vm-a"), nullptr);
  ASSERT_NE(parsed->find("vm.b_2"), nullptr);
}

template <size_t N>
std::string with_nul(const char (&text)[N]) {
  return std::string(text, N - 1);
}

// Garbage on a tenant's file is refused, with a reason, never half-parsed.
TEST(LabelRecord, AnythingElseIsRefused) {
  const std::string head = "bulwark-label 1\noriginal=a:b:c:s0\nlabel=x:y:z:s0\n";
  const std::string bad[] = {
      "",
      "bulwark-label 1\n",
      "bulwark-label 2\noriginal=\nlabel=a:b:c:s0\nuser=vm-a rw\n",
      head,                                        // no user: never stored
      head + "user=vm-a rw",                       // cut short
      head + "user=vm-a rw\nuser=vm-a ro\n",       // a VM twice
      head + "user=vm-a rx\n",                     // unknown access
      head + "user=vm-a  rw\n",                    // two spaces
      head + "user=vm-a\n",                        // no access
      head + "user=-vm rw\n",                      // not a VM id
      head + "user=" + std::string(65, 'a') + " rw\n",
      head + "user=vm/a rw\n",
      head + "user=vm-a rw\nextra=1\n",
      head + "user=vm-a rw\n\n",
      "bulwark-label 1\nlabel=x:y:z:s0\noriginal=\nuser=vm-a rw\n",  // order
      "bulwark-label 1\noriginal=a b:c\nlabel=x:y:z:s0\nuser=vm-a rw\n",
      "bulwark-label 1\noriginal=\nlabel=\nuser=vm-a rw\n",
      with_nul("bulwark-label 1\noriginal=\nlabel=x:y:z:s0\0\nuser=vm-a rw\n"),
      with_nul("bulwark-label 1\noriginal=a:b\0c:s0\nlabel=x:y:z:s0\nuser=vm-a rw\n"),
      "bulwark-label 1\noriginal=\nlabel=" + std::string(256, 'a') + "\nuser=vm-a rw\n",
      "bulwark-label 1\r\noriginal=\nlabel=x:y:z:s0\nuser=vm-a rw\n",
  };
  for (const std::string& text : bad) {
    auto parsed = parse_label_record(text);
    EXPECT_FALSE(parsed.ok()) << "accepted: " << text;
    if (!parsed.ok()) {
      EXPECT_FALSE(parsed.error().message().empty());
    }
  }
  EXPECT_FALSE(parse_label_record(std::string(kMaxLabelRecordBytes + 1, 'x')).ok());
}

TEST(LabelRecord, TooManyUsersIsRefusedBothWays) {
  LabelRecord record{std::nullopt, "x:y:z:s0", {}};
  for (size_t i = 0; i <= kMaxLabelRecordUsers; ++i)
    record.users.push_back({"vm-" + std::to_string(i), LabelAccess::kReadOnlyShared});
  EXPECT_FALSE(format_label_record(record).ok());
  std::string text = "bulwark-label 1\noriginal=\nlabel=x:y:z:s0\n";
  for (const LabelUser& user : record.users) text += "user=" + user.vm_id + " ro-shared\n";
  EXPECT_FALSE(parse_label_record(text).ok());
  record.users.pop_back();
  ASSERT_TRUE(format_label_record(record).ok());
  EXPECT_TRUE(parse_label_record(*format_label_record(record)).ok());
}

TEST(LabelRecord, FormatRefusesWhatParseWouldRefuse) {
  EXPECT_FALSE(format_label_record({std::nullopt, "x:y:z:s0", {}}).ok());
  EXPECT_FALSE(format_label_record({std::string("bad\n"), "x:y:z:s0", {{"a", LabelAccess::kReadOnly}}}).ok());
  EXPECT_FALSE(format_label_record({std::nullopt, "x y", {{"a", LabelAccess::kReadOnly}}}).ok());
  EXPECT_FALSE(format_label_record({std::nullopt, "x:y:z:s0", {{"a\nuser=b", LabelAccess::kReadOnly}}}).ok());
}

}  // namespace
}  // namespace bulwark::jailer
