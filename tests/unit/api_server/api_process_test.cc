// The real bulwark-api binary, started as the launcher starts it (fd 3 listening, fd 4 the
// command channel) with its seccomp policy enforced, driven by API clients over a real unix
// socket while the test plays the launcher.
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <optional>
#include <variant>

#include "tests/unit/api_server/api_test_support.h"

namespace bulwark::test {
namespace {

using api::Reply;

class ApiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(const std::vector<std::string>& args) {
    socket_path_ = dir_.path() + "/api.sock";
    UniqueFd listener = listen_at(socket_path_);
    auto [test_end, api_end] = command_channel();
    auto process = ApiProcess::start(args, listener.get(), api_end.get());
    ASSERT_TRUE(process.ok()) << process.error().message();
    process_.emplace(std::move(*process));
    launcher_.emplace(std::move(test_end));
  }

  TestClient client() { return TestClient::connect_to(socket_path_); }

  // Sends one request on a new connection and returns the answer.
  std::optional<ParsedResponse> ask(const std::string& request) {
    TestClient c = client();
    if (!c.send(request)) return std::nullopt;
    return c.read_response();
  }

  static std::string fault_message(const ParsedResponse& response) {
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (!json.is_object() || !json.contains("fault_message") || !json["fault_message"].is_string()) {
      ADD_FAILURE() << "not a fault body: " << response.body;
      return "";
    }
    return json["fault_message"].get<std::string>();
  }

  TempDir dir_;
  std::string socket_path_;
  std::optional<ApiProcess> process_;
  std::optional<TestLauncher> launcher_;
};

TEST_F(ApiProcessTest, GetVersionIsAnsweredWithoutTheLauncher) {
  auto response = ask(http_request("GET", "/version"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->reason, "OK");
  EXPECT_EQ(response->headers["content-type"], "application/json");
  const auto json = nlohmann::json::parse(response->body, nullptr, false);
  ASSERT_TRUE(json.is_object()) << response->body;
  EXPECT_TRUE(json.contains("firecracker_version")) << response->body;
  EXPECT_TRUE(launcher_->silent_for(200ms));
}

TEST_F(ApiProcessTest, PutBootSourceReachesTheLauncherAndAnswers204) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("PUT", "/boot-source",
                                  R"({"kernel_image_path": "vmlinux", "boot_args": "console=ttyS0 reboot=k"})")));
  auto command = launcher_->next_command();
  ASSERT_TRUE(command);
  ASSERT_TRUE(std::holds_alternative<api::PutBootSource>(*command)) << api::command_name(*command);
  const auto& boot = std::get<api::PutBootSource>(*command);
  EXPECT_EQ(boot.kernel_image_path, "vmlinux");
  EXPECT_EQ(boot.boot_args, "console=ttyS0 reboot=k");
  EXPECT_EQ(boot.initrd_path, "");
  // The client waits for the launcher.
  EXPECT_TRUE(c.quiet_for(100ms));
  launcher_->reply(Reply{204, Reply::Body::kNone, ""});
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->reason, "No Content");
  EXPECT_FALSE(response->has("content-type"));
  EXPECT_FALSE(response->has("connection"));
  EXPECT_EQ(response->body, "");
  EXPECT_TRUE(c.quiet_for(100ms)) << "bytes after a 204";
}

TEST_F(ApiProcessTest, LauncherFaultBecomesAFaultBodyWithItsStatus) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("PUT", "/actions", R"({"action_type": "InstanceStart"})")));
  auto command = launcher_->next_command();
  ASSERT_TRUE(command);
  EXPECT_TRUE(std::holds_alternative<api::InstanceStart>(*command)) << api::command_name(*command);
  launcher_->reply(Reply{409, Reply::Body::kFault, "no kernel \"configured\" yet"});
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 409);
  EXPECT_EQ(response->headers["content-type"], "application/json");
  EXPECT_EQ(fault_message(*response), "no kernel \"configured\" yet");
}

TEST_F(ApiProcessTest, KeepAliveServesTwoRequestsOnOneConnection) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/version")));
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  ASSERT_TRUE(c.send(http_request("GET", "/machine-config")));
  auto command = launcher_->next_command();
  ASSERT_TRUE(command);
  EXPECT_TRUE(std::holds_alternative<api::GetMachineConfig>(*command));
  launcher_->reply(Reply{200, Reply::Body::kJson, R"({"vcpu_count": 2, "mem_size_mib": 256})"});
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, R"({"vcpu_count": 2, "mem_size_mib": 256})");
}

TEST_F(ApiProcessTest, PipelinedRequestsAreAnsweredInOrder) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("PUT", "/boot-source", R"({"kernel_image_path": "k1"})") +
                     http_request("GET", "/version") +
                     http_request("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})") +
                     http_request("GET", "/nowhere")));
  auto first = launcher_->next_command();
  ASSERT_TRUE(first);
  ASSERT_TRUE(std::holds_alternative<api::PutBootSource>(*first));
  EXPECT_EQ(std::get<api::PutBootSource>(*first).kernel_image_path, "k1");
  // One command at a time; and /version's answer waits behind the boot source's.
  EXPECT_TRUE(launcher_->silent_for(200ms));
  EXPECT_TRUE(c.quiet_for(100ms));
  launcher_->reply(Reply{204, Reply::Body::kNone, ""});
  auto second = launcher_->next_command();
  ASSERT_TRUE(second);
  ASSERT_TRUE(std::holds_alternative<api::PutMachineConfig>(*second));
  EXPECT_EQ(std::get<api::PutMachineConfig>(*second).vcpu_count, 2u);
  EXPECT_EQ(std::get<api::PutMachineConfig>(*second).mem_size_mib, 256u);
  launcher_->reply(Reply{400, Reply::Body::kFault, "too big"});

  const int expected[] = {204, 200, 400, 404};
  for (int status : expected) {
    auto response = c.read_response();
    ASSERT_TRUE(response) << "no answer with " << status;
    EXPECT_EQ(response->status, status);
  }
}

TEST_F(ApiProcessTest, SeventeenthClientGets503AndTheOthersStillWork) {
  std::vector<TestClient> clients;
  for (int i = 0; i < 16; ++i) clients.push_back(client());
  // Each of the 16 is served before the 17th connects, so all of them are accepted.
  for (TestClient& c : clients) {
    ASSERT_TRUE(c.send(http_request("GET", "/version")));
    auto response = c.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  TestClient extra = client();
  auto refused = extra.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->headers["connection"], "close");
  EXPECT_NE(fault_message(*refused).find("too many"), std::string::npos) << refused->body;
  EXPECT_TRUE(extra.closed_within(2000ms));

  for (TestClient& c : clients) {
    ASSERT_TRUE(c.send(http_request("GET", "/version")));
    auto response = c.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  // Once one leaves, a new client is served again.
  clients.pop_back();
  TestClient next = client();
  ASSERT_TRUE(next.send(http_request("GET", "/version")));
  auto response = next.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(ApiProcessTest, SlowlyDrippingClientGets408) {
  TestClient c = client();
  const std::string request = "GET /version HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + std::string(200, 'a');
  const auto start = std::chrono::steady_clock::now();
  std::optional<ParsedResponse> response;
  for (size_t i = 0; i < request.size() && !response; ++i) {
    if (!c.send(request.substr(i, 1))) break;  // the server closed
    if (!c.quiet_for(500ms)) response = c.read_response();
  }
  if (!response) response = c.read_response();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_GE(elapsed, 4500ms);
  EXPECT_LE(elapsed, 6500ms);
  EXPECT_TRUE(c.closed_within(2000ms));
}

TEST_F(ApiProcessTest, OversizedHeadersGet431AndTheProcessServesTheNextClient) {
  TestClient c = client();
  ASSERT_TRUE(c.send("GET /version HTTP/1.1\r\nHost: localhost\r\nX-Big: " + std::string(16384, 'b') + "\r\n\r\n"));
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_FALSE(fault_message(*response).empty());
  EXPECT_TRUE(c.closed_within(2000ms));

  auto next = ask(http_request("GET", "/version"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_TRUE(process_->running());
}

TEST_F(ApiProcessTest, MalformedJsonGets400WithoutReachingTheLauncher) {
  auto response = ask(http_request("PUT", "/boot-source", R"({"kernel_image_path": "vmlinux",)"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_FALSE(fault_message(*response).empty());
  EXPECT_TRUE(launcher_->silent_for(200ms));
}

TEST_F(ApiProcessTest, ConnectionCloseIsHonoured) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/version", "", "Connection: close\r\n") + http_request("GET", "/version")));
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(2000ms)) << "the pipelined request after Connection: close was answered";
}

TEST_F(ApiProcessTest, ClientThatDoesNotReadItsAnswersIsClosed) {
  TestClient greedy = client();
  const std::string request = http_request("GET", "/version");
  // 20000 answers of ~100 bytes are ~2 MB, far past the 256 KiB bound plus the socket buffers.
  bool closed = false;
  for (int i = 0; i < 20000 && !closed; ++i) closed = !greedy.send(request, 2000ms);
  EXPECT_TRUE(closed) << "bulwark-api kept queueing answers nobody reads";
  auto next = ask(request);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(ApiProcessTest, ClientLeavingBeforeTheReplyDoesNotDisturbTheNext) {
  {
    TestClient leaving = client();
    ASSERT_TRUE(leaving.send(http_request("GET", "/vm/config") + http_request("GET", "/policy")));
    auto command = launcher_->next_command();
    ASSERT_TRUE(command);
    EXPECT_TRUE(std::holds_alternative<api::GetVmConfig>(*command));
  }
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/machine-config")));
  EXPECT_TRUE(launcher_->silent_for(200ms)) << "a second command while one is outstanding";
  launcher_->reply(Reply{200, Reply::Body::kJson, R"({"for": "the client that left"})"});
  // The departed client's GET /policy is never sent: nobody would read its answer.
  auto command = launcher_->next_command();
  ASSERT_TRUE(command);
  EXPECT_TRUE(std::holds_alternative<api::GetMachineConfig>(*command)) << api::command_name(*command);
  launcher_->reply(Reply{200, Reply::Body::kJson, R"({"for": "this client"})"});
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, R"({"for": "this client"})");
  EXPECT_TRUE(launcher_->silent_for(100ms));
}

TEST_F(ApiProcessTest, LauncherEofEndsTheProcessWithExitZero) {
  launcher_->close();
  const auto status = process_->wait_exit(5000ms);
  ASSERT_TRUE(status) << "bulwark-api still running after the launcher left";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

TEST_F(ApiProcessTest, LauncherEofAnswersTheWaitingClient503) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/vm/config")));
  ASSERT_TRUE(launcher_->next_command());
  launcher_->close();
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  const auto status = process_->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

TEST_F(ApiProcessTest, UndecodableReplyGives500AndExitsNonzero) {
  TestClient c = client();
  ASSERT_TRUE(c.send(http_request("GET", "/machine-config")));
  ASSERT_TRUE(launcher_->next_command());
  launcher_->send_raw({'B', 'W', 'R', '1', 0xff, 0xff});
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  const auto status = process_->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "wait status " << *status;
}

TEST_F(ApiProcessTest, ReplyWithNoCommandOutstandingExitsNonzero) {
  launcher_->reply(Reply{204, Reply::Body::kNone, ""});
  const auto status = process_->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "wait status " << *status;
}

TEST(ApiProcessStartup, RefusesAListenerThatIsNotListening) {
  TempDir dir;
  auto [test_end, api_end] = command_channel();
  auto [a, b] = command_channel();  // a socket, but SOCK_SEQPACKET and not listening
  auto process = ApiProcess::start({}, a.get(), api_end.get());
  ASSERT_TRUE(process.ok());
  const auto status = process->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "wait status " << *status;
}

TEST(ApiProcessStartup, RefusesUnknownOptions) {
  TempDir dir;
  UniqueFd listener = listen_at(dir.path() + "/api.sock");
  auto [test_end, api_end] = command_channel();
  auto process = ApiProcess::start({"--socket-fd", "3"}, listener.get(), api_end.get());
  ASSERT_TRUE(process.ok());
  const auto status = process->wait_exit(5000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << "wait status " << *status;
}

}  // namespace
}  // namespace bulwark::test
