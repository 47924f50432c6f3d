// ApiServer in-process, with short timeouts (its constructor parameters; the binary uses the
// defaults): idle connections close, a silent launcher gets its client a 504 and stops the
// server, an incomplete request gets 408, the client limit holds.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "api/server/api_server.h"
#include "tests/unit/api_server/api_test_support.h"

namespace bulwark::test {
namespace {

using api::Reply;

class ApiServerTest : public ::testing::Test {
 protected:
  void start(const api::ApiServerConfig& config) {
    socket_path_ = dir_.path() + "/api.sock";
    auto [test_end, api_end] = command_channel();
    launcher_.emplace(std::move(test_end));
    auto server = api::ApiServer::create(listen_at(socket_path_), std::move(api_end), config);
    ASSERT_TRUE(server.ok()) << server.error().message();
    std::packaged_task<Status()> task([server = std::move(*server)]() mutable { return server.run(); });
    result_ = task.get_future();
    thread_ = std::thread(std::move(task));
  }

  void TearDown() override {
    if (launcher_) launcher_->close();
    if (thread_.joinable()) thread_.join();
  }

  // run()'s result once it returned, or nullopt after `timeout`.
  std::optional<Status> stopped_within(Millis timeout) {
    if (result_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return result_.get();
  }

  TestClient client() { return TestClient::connect_to(socket_path_); }

  TempDir dir_;
  std::string socket_path_;
  std::optional<TestLauncher> launcher_;
  std::future<Status> result_;
  std::thread thread_;
};

TEST_F(ApiServerTest, IdleKeepAliveConnectionIsClosed) {
  api::ApiServerConfig config;
  config.client.idle_timeout = 300ms;
  start(config);
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/version")));
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_within(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - answered, 250ms);
}

TEST_F(ApiServerTest, ConnectionWaitingForTheLauncherIsNotIdle) {
  api::ApiServerConfig config;
  config.client.idle_timeout = 200ms;
  start(config);
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/vm/config")));
  ASSERT_TRUE(launcher_->next_command());
  EXPECT_TRUE(c.quiet_for(600ms)) << "closed while its answer was on the way";
  launcher_->reply(Reply{200, Reply::Body::kJson, "{}"});
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(ApiServerTest, SilentLauncherGives504AndStopsTheServer) {
  api::ApiServerConfig config;
  config.launcher_timeout = 300ms;
  start(config);
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("PUT", "/boot-source", R"({"kernel_image_path": "vmlinux"})")));
  ASSERT_TRUE(launcher_->next_command());
  auto response = c.read_response(3000ms);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  auto status = stopped_within(3000ms);
  ASSERT_TRUE(status) << "still serving with the channel out of step";
  ASSERT_FALSE(status->ok());
  EXPECT_NE(status->error().message().find("did not answer PutBootSource"), std::string::npos)
      << status->error().message();
}

TEST_F(ApiServerTest, IncompleteRequestGets408AfterTheRequestTimeout) {
  api::ApiServerConfig config;
  config.client.request_timeout = 300ms;
  start(config);
  TestClient c = client();
  ASSERT_TRUE(c.send("GET /version HTTP/1.1\r\nHost: loc"));
  const auto sent = std::chrono::steady_clock::now();
  auto response = c.read_response(3000ms);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 250ms);
  EXPECT_TRUE(c.closed_within(2000ms));
}

TEST_F(ApiServerTest, ClientLimitIsHeld) {
  api::ApiServerConfig config;
  config.max_clients = 2;
  start(config);
  TestClient first = client();
  TestClient second = client();
  TestClient third = client();
  auto refused = third.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  for (TestClient* c : {&first, &second}) {
    ASSERT_TRUE(c->send(http_request("GET", "/version")));
    auto response = c->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(ApiServerTest, LauncherEofStopsTheServerCleanly) {
  start({});
  launcher_->close();
  auto status = stopped_within(3000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->error().message();
}

TEST(ApiServerCreate, RefusesSocketsOfTheWrongKind) {
  auto [a, b] = command_channel();
  auto [c, d] = command_channel();
  auto server = api::ApiServer::create(std::move(a), std::move(c));
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message().find("the API socket"), std::string::npos) << server.error().message();
}

}  // namespace
}  // namespace bulwark::test
