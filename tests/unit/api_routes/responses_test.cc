// The answers the API client gets for the launcher's replies and for bulwark-api's own faults.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/routes/router.h"

namespace bulwark::api {
namespace {

TEST(ApiRoutesResponses, JsonReplyPassesThrough) {
  const HttpResponse r = response_for(Reply{200, Reply::Body::kJson, R"({"id":"vm1"})"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"id":"vm1"})");
}

TEST(ApiRoutesResponses, PrometheusReplyIsTextFormat004) {
  const HttpResponse r = response_for(Reply{200, Reply::Body::kPrometheus, "vcpus 2\n"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(r.body, "vcpus 2\n");
}

TEST(ApiRoutesResponses, FaultReplyBecomesFaultMessage) {
  const HttpResponse r = response_for(Reply{409, Reply::Body::kFault, "the VM has started"});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json({{"fault_message", "the VM has started"}}));
}

TEST(ApiRoutesResponses, NoBodyReply) {
  const HttpResponse r = response_for(Reply{204, Reply::Body::kNone, ""});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.content_type, "");
  EXPECT_EQ(r.body, "");
}

TEST(ApiRoutesResponses, FaultMessageIsEscapedJson) {
  const HttpResponse r = fault_response(400, "quote \" backslash \\ newline \n end");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"fault_message":"quote \" backslash \\ newline \n end"})");
}

TEST(ApiRoutesResponses, FaultMessageWithInvalidUtf8DoesNotThrow) {
  const HttpResponse r = fault_response(500, "bad \xff\xfe byte");
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["fault_message"], "bad \xef\xbf\xbd\xef\xbf\xbd byte");
}

}  // namespace
}  // namespace bulwark::api
