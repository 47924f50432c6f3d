// Runs one attempt in each of `count` forked children, started together. Each child reports the
// attempt's text on its own pipe and then keeps whatever it reserved until every child has
// reported, so all reservations are live at the same time.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

namespace bulwark::testing_support {

inline std::vector<std::string> run_in_concurrent_children(int count,
                                                           const std::function<std::string()>& attempt) {
  int go[2];
  int hold[2];
  if (::pipe(go) != 0 || ::pipe(hold) != 0) return {};
  std::vector<pid_t> children;
  std::vector<int> result_fds;
  for (int i = 0; i < count; ++i) {
    int result[2];
    if (::pipe(result) != 0) break;
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(go[1]);
      ::close(hold[1]);
      ::close(result[0]);
      char byte;
      (void)::read(go[0], &byte, 1);  // EOF once the parent has forked everyone
      const std::string text = attempt();
      (void)::write(result[1], text.data(), text.size());
      ::close(result[1]);
      (void)::read(hold[0], &byte, 1);  // EOF once the parent has read every result
      ::_exit(0);  // no destructors: the lock goes with the process, the file stays
    }
    ::close(result[1]);
    children.push_back(child);
    result_fds.push_back(result[0]);
  }
  ::close(go[0]);
  ::close(go[1]);
  std::vector<std::string> results;
  for (int fd : result_fds) {
    std::string text;
    char buffer[512];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
    ::close(fd);
    results.push_back(text);
  }
  ::close(hold[0]);
  ::close(hold[1]);
  for (pid_t child : children) ::waitpid(child, nullptr, 0);
  return results;
}

}  // namespace bulwark::testing_support
