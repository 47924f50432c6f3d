// `bulwark vm ...` against a fake bulwark-api on a real unix socket: the exact request each
// subcommand sends, what the operator sees, and what a hostile or broken API process gets
// (an exit code and a message, never a hang, a crash or raw control bytes on the terminal).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jailer/vm_cli/vm_command.h"
#include "tests/unit/vm_cli/fake_api_server.h"

namespace bulwark::vm_cli {
namespace {

using testing::FakeApiServer;
using testing::http_answer;
using nlohmann::json;

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs `bulwark vm WORDS... --api-sock SOCKET` with stdout and stderr captured.
CliRun run_cli(std::vector<std::string> words, const std::string& socket = "") {
  if (!socket.empty()) {
    words.push_back("--api-sock");
    words.push_back(socket);
  }
  const std::vector<std::string_view> args(words.begin(), words.end());
  char* out_buffer = nullptr;
  char* err_buffer = nullptr;
  size_t out_size = 0, err_size = 0;
  std::FILE* out = ::open_memstream(&out_buffer, &out_size);
  std::FILE* err = ::open_memstream(&err_buffer, &err_size);
  CliRun run;
  run.exit_code = run_vm_command(args, out, err);
  std::fclose(out);
  std::fclose(err);
  run.out.assign(out_buffer, out_size);
  run.err.assign(err_buffer, err_size);
  std::free(out_buffer);
  std::free(err_buffer);
  return run;
}

const char kInfo[] = R"({"id":"vm-7","state":"Running","vmm_version":"0.4.1","app_name":"Firecracker"})";

TEST(VmCommand, InfoSendsGetRootAndPrintsIdStateVersion) {
  FakeApiServer server(http_answer(200, "OK", kInfo));
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "id:      vm-7\nstate:   Running\nversion: 0.4.1\n");
  EXPECT_EQ(run.err, "");
  const auto& request = server.received();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/");
  EXPECT_EQ(request.content_length, 0);
  EXPECT_EQ(request.body, "");
  EXPECT_TRUE(request.raw.starts_with("GET / HTTP/1.1\r\n")) << request.raw;
}

TEST(VmCommand, InfoJsonPrintsTheAnswer) {
  FakeApiServer server(http_answer(200, "OK", kInfo));
  const CliRun run = run_cli({"info", "--json"}, server.socket_path());
  ASSERT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(json::parse(run.out), json::parse(kInfo));
}

TEST(VmCommand, PauseSendsPatchVmPaused) {
  FakeApiServer server(http_answer(204, "No Content", ""));
  const CliRun run = run_cli({"pause"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "paused\n");
  const auto& request = server.received();
  EXPECT_EQ(request.method, "PATCH");
  EXPECT_EQ(request.path, "/vm");
  EXPECT_EQ(json::parse(request.body), json({{"state", "Paused"}}));
  EXPECT_EQ(request.content_length, static_cast<long>(request.body.size()));
  EXPECT_NE(request.raw.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
}

TEST(VmCommand, ResumeSendsPatchVmResumedAndJsonPrintsEmptyObject) {
  FakeApiServer server(http_answer(204, "No Content", ""));
  const CliRun run = run_cli({"resume", "--json"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "{}\n");
  const auto& request = server.received();
  EXPECT_EQ(request.method, "PATCH");
  EXPECT_EQ(request.path, "/vm");
  EXPECT_EQ(json::parse(request.body), json({{"state", "Resumed"}}));
}

TEST(VmCommand, ResumeHumanOutput) {
  FakeApiServer server(http_answer(204, "No Content", ""));
  const CliRun run = run_cli({"resume"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "resumed\n");
}

TEST(VmCommand, StopSendsShutdownWithTheDefaultGrace) {
  FakeApiServer server(http_answer(204, "No Content", ""));
  const CliRun run = run_cli({"stop"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "shutdown requested; the VM is stopped in at most 10 s\n");
  const auto& request = server.received();
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.path, "/actions");
  EXPECT_EQ(json::parse(request.body), json({{"action_type", "Shutdown"}, {"timeout_s", 10}}));
}

TEST(VmCommand, StopSendsTheGivenGraceAndJsonPrintsTheBody) {
  FakeApiServer server(http_answer(200, "OK", R"({"stopping":true})"));
  const CliRun run = run_cli({"stop", "--grace-s", "45", "--json"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(json::parse(run.out), json({{"stopping", true}}));
  EXPECT_EQ(json::parse(server.received().body), json({{"action_type", "Shutdown"}, {"timeout_s", 45}}));
}

const char kMetrics[] =
    "# HELP bulwark_vcpu_exits_total VM exits.\n"
    "# TYPE bulwark_vcpu_exits_total counter\n"
    "bulwark_vcpu_exits_total{vcpu=\"0\"} 1234\n"
    "bulwark_vcpu_exits_total{vcpu=\"1\"} 99 1700000000000\n"
    "bulwark_mem_ratio 0.25\n"
    "bulwark_uptime_seconds +Inf\n";

TEST(VmCommand, MetricsPrintsThePrometheusTextAsIs) {
  FakeApiServer server(http_answer(200, "OK", kMetrics, "text/plain; version=0.0.4"));
  const CliRun run = run_cli({"metrics"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, kMetrics);
  EXPECT_EQ(server.received().method, "GET");
  EXPECT_EQ(server.received().path, "/metrics");
}

TEST(VmCommand, MetricsJsonMapsSeriesToValues) {
  FakeApiServer server(http_answer(200, "OK", kMetrics, "text/plain; version=0.0.4"));
  const CliRun run = run_cli({"metrics", "--json"}, server.socket_path());
  ASSERT_EQ(run.exit_code, kVmExitOk) << run.err;
  const json expected = {{"bulwark_vcpu_exits_total{vcpu=\"0\"}", 1234},
                         {"bulwark_vcpu_exits_total{vcpu=\"1\"}", 99},
                         {"bulwark_mem_ratio", 0.25},
                         {"bulwark_uptime_seconds", "+Inf"}};
  EXPECT_EQ(json::parse(run.out), expected);
}

TEST(VmCommand, MetricsJsonRefusesMalformedText) {
  FakeApiServer server(http_answer(200, "OK", "bulwark_ok 1\nnot a metric line\n", "text/plain"));
  const CliRun run = run_cli({"metrics", "--json"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("metrics line 2"), std::string::npos) << run.err;
}

TEST(VmCommand, MetricsEscapesControlCharacters) {
  FakeApiServer server(http_answer(200, "OK", "# HELP x \x1b[2J\x1b]0;owned\x07\nx 1\n", "text/plain"));
  const CliRun run = run_cli({"metrics"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "# HELP x \\x1b[2J\\x1b]0;owned\\x07\nx 1\n");
}

const char kPolicy[] =
    R"({"vm":"vm-7","processes":[{"kind":"monitor-main","seccomp":{"syscall_count":3,)"
    R"("syscalls":["read","write","ioctl"]},"namespaces":[]}]})";

TEST(VmCommand, PolicyPrintsAnOutline) {
  FakeApiServer server(http_answer(200, "OK", kPolicy));
  const CliRun run = run_cli({"policy"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out,
            "processes:\n"
            "  -\n"
            "    kind: monitor-main\n"
            "    namespaces: (none)\n"
            "    seccomp:\n"
            "      syscall_count: 3\n"
            "      syscalls: read, write, ioctl\n"
            "vm: vm-7\n");
  EXPECT_EQ(server.received().method, "GET");
  EXPECT_EQ(server.received().path, "/policy");
}

TEST(VmCommand, PolicyJsonPrintsTheDocument) {
  FakeApiServer server(http_answer(200, "OK", kPolicy));
  const CliRun run = run_cli({"policy", "--json"}, server.socket_path());
  ASSERT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(json::parse(run.out), json::parse(kPolicy));
}

TEST(VmCommand, PolicyOutlineEscapesHostileStrings) {
  FakeApiServer server(http_answer(200, "OK", R"({"k\u001b[31m":"a\nb\u0085c"})"));
  const CliRun run = run_cli({"policy"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitOk) << run.err;
  EXPECT_EQ(run.out, "k\\x1b[31m: a\\nb\\u0085c\n");
}

TEST(VmCommand, AFaultIsExitTwoWithItsMessage) {
  FakeApiServer server(http_answer(
      400, "Bad Request", R"({"fault_message":"The requested operation is not supported before starting the microVM."})"));
  const CliRun run = run_cli({"pause"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitApiError);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "bulwark vm pause: the API answered 400: The requested operation is not supported before "
            "starting the microVM.\n");
}

TEST(VmCommand, AFaultWithJsonAlsoPrintsItOnStdout) {
  FakeApiServer server(http_answer(409, "Conflict", R"({"fault_message":"busy"})"));
  const CliRun run = run_cli({"resume", "--json"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitApiError);
  EXPECT_EQ(json::parse(run.out), json({{"status", 409}, {"fault_message", "busy"}}));
}

TEST(VmCommand, AFaultMessageIsEscaped) {
  FakeApiServer server(http_answer(500, "Internal Server Error", R"({"fault_message":"x\u001b[1Ay\nroot# "})"));
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitApiError);
  EXPECT_EQ(run.err, "bulwark vm info: the API answered 500: x\\x1b[1Ay\\nroot# \n");
}

TEST(VmCommand, AnErrorStatusWithoutFaultMessageIsStillExitTwo) {
  FakeApiServer server(http_answer(503, "Service Unavailable", "", ""));
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitApiError);
  EXPECT_NE(run.err.find("503 without a fault message"), std::string::npos) << run.err;
}

TEST(VmCommand, ASilentServerIsExitThreeWithinTheTimeout) {
  FakeApiServer server("", FakeApiServer::Mode::kSilent);
  const auto start = std::chrono::steady_clock::now();
  const CliRun run = run_cli({"info", "--timeout-s", "1"}, server.socket_path());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_NE(run.err.find("no complete answer within 1 s"), std::string::npos) << run.err;
  EXPECT_EQ(server.received().path, "/");  // the request did go out
}

TEST(VmCommand, GarbageIsExitThree) {
  FakeApiServer server("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("invalid answer: malformed HTTP response"), std::string::npos) << run.err;
}

TEST(VmCommand, ADeclaredTenMebibyteBodyIsExitThree) {
  const std::string body(10 << 20, 'a');
  FakeApiServer server(http_answer(200, "OK", body, "text/plain"));
  const CliRun run = run_cli({"metrics"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("response body of 10485760 bytes is larger than 4194304"), std::string::npos) << run.err;
}

TEST(VmCommand, ATenMebibyteBodyToTheEndOfTheConnectionIsExitThree) {
  FakeApiServer server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + std::string(10 << 20, 'a'));
  const CliRun run = run_cli({"metrics"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("response body larger than 4194304 bytes"), std::string::npos) << run.err;
}

TEST(VmCommand, HugeHeadersAreExitThree) {
  FakeApiServer server("HTTP/1.1 200 OK\r\nX-Filler: " + std::string(9000, 'h') + "\r\n\r\n");
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("response headers larger than 8192 bytes"), std::string::npos) << run.err;
}

TEST(VmCommand, AnAnswerCutShortIsExitThree) {
  FakeApiServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\":");
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("closed before the end of the response"), std::string::npos) << run.err;
}

TEST(VmCommand, InfoWithoutItsFieldsIsExitThree) {
  FakeApiServer server(http_answer(200, "OK", R"({"id":7})"));
  const CliRun run = run_cli({"info"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("malformed answer"), std::string::npos) << run.err;
}

TEST(VmCommand, PolicyThatIsNotJsonIsExitThree) {
  FakeApiServer server(http_answer(200, "OK", "{\"a\":"));
  const CliRun run = run_cli({"policy"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("malformed answer: invalid JSON"), std::string::npos) << run.err;
}

TEST(VmCommand, DeeplyNestedJsonIsExitThree) {
  FakeApiServer server(http_answer(200, "OK", std::string(1 << 20, '[') + std::string(1 << 20, ']')));
  const CliRun run = run_cli({"policy", "--json"}, server.socket_path());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("nested deeper than 64 levels"), std::string::npos) << run.err;
}

TEST(VmCommand, NoServerIsExitThree) {
  char dir_template[] = "/tmp/bulwark-vmcli-none-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/absent.sock";
  const CliRun run = run_cli({"info"}, path);
  ::rmdir(dir_template);
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("cannot connect to \"" + path + "\": No such file or directory"), std::string::npos)
      << run.err;
}

// The socket is in the VM's jail: a compromised API process could replace it with a link to
// another root-only socket.
TEST(VmCommand, ASymbolicLinkToASocketIsRefused) {
  FakeApiServer server(http_answer(200, "OK", kInfo));
  const std::string link = server.socket_path() + ".link";
  ASSERT_EQ(::symlink(server.socket_path().c_str(), link.c_str()), 0);
  const CliRun run = run_cli({"info"}, link);
  ::unlink(link.c_str());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("it is a symbolic link"), std::string::npos) << run.err;
  EXPECT_EQ(server.received().method, "");  // nothing reached the socket
}

TEST(VmCommand, AFileThatIsNotASocketIsRefused) {
  FakeApiServer server(http_answer(200, "OK", kInfo));
  const std::string file = server.socket_path() + ".txt";
  std::fclose(std::fopen(file.c_str(), "w"));
  const CliRun run = run_cli({"info"}, file);
  ::unlink(file.c_str());
  EXPECT_EQ(run.exit_code, kVmExitNoAnswer);
  EXPECT_NE(run.err.find("not a socket"), std::string::npos) << run.err;
}

TEST(VmCommand, APathTooLongForSunPathIsAUsageError) {
  const std::string path = "/tmp/" + std::string(120, 'p') + ".sock";
  const CliRun run = run_cli({"info"}, path);
  EXPECT_EQ(run.exit_code, kVmExitUsage);
  EXPECT_NE(run.err.find("is 130 bytes long; a unix socket path holds at most 107"), std::string::npos) << run.err;
}

TEST(VmCommand, UsageErrors) {
  EXPECT_EQ(run_cli({}).exit_code, kVmExitUsage);
  const CliRun missing = run_cli({"info"});
  EXPECT_EQ(missing.exit_code, kVmExitUsage);
  EXPECT_NE(missing.err.find("--api-sock PATH is required"), std::string::npos) << missing.err;
  const CliRun unknown = run_cli({"reboot"}, "/tmp/x.sock");
  EXPECT_EQ(unknown.exit_code, kVmExitUsage);
  EXPECT_NE(unknown.err.find("unknown command \"reboot\""), std::string::npos) << unknown.err;
  EXPECT_EQ(run_cli({"info", "--grace-s", "5"}, "/tmp/x.sock").exit_code, kVmExitUsage);
  EXPECT_EQ(run_cli({"stop", "--grace-s", "0"}, "/tmp/x.sock").exit_code, kVmExitUsage);
  EXPECT_EQ(run_cli({"stop", "--grace-s", "3601"}, "/tmp/x.sock").exit_code, kVmExitUsage);
  EXPECT_EQ(run_cli({"info", "--timeout-s", "1x"}, "/tmp/x.sock").exit_code, kVmExitUsage);
  EXPECT_EQ(run_cli({"info", "--timeout-s"}).exit_code, kVmExitUsage);
  EXPECT_EQ(run_cli({"info", "extra"}, "/tmp/x.sock").exit_code, kVmExitUsage);
  const CliRun empty = run_cli({"info", "--api-sock", ""});
  EXPECT_EQ(empty.exit_code, kVmExitUsage);
  EXPECT_NE(empty.err.find("the API socket path is empty"), std::string::npos) << empty.err;
}

TEST(VmCommand, HelpDocumentsTheExitCodes) {
  const CliRun help = run_cli({"--help"});
  EXPECT_EQ(help.exit_code, kVmExitOk);
  EXPECT_NE(help.out.find("Exit status: 0 success; 1 bad command line; 2 the API answered with an error"),
            std::string::npos)
      << help.out;
  EXPECT_NE(help.out.find("3 no usable answer (cannot connect, timeout, malformed answer)"), std::string::npos);
  EXPECT_EQ(run_cli({"stop", "--help"}).exit_code, kVmExitOk);
}

}  // namespace
}  // namespace bulwark::vm_cli
