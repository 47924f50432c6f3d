// The adaptive poll window: how long the event loop polls its rings before blocking follows
// the idle spells it sees, never past the operator's maximum, and none at all with 0.
#include <gtest/gtest.h>

#include <chrono>

#include "devices/backend/poll_window.h"

namespace bulwark::backend {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(PollWindow, ZeroMaximumNeverPolls) {
  PollWindow poll(nanoseconds{0});
  EXPECT_FALSE(poll.enabled());
  for (int i = 0; i < 10; ++i) poll.record(microseconds{1});
  EXPECT_EQ(poll.window(), nanoseconds{0});
}

TEST(PollWindow, StartsClosedAndGrowsWhileWorkComesSoonAfterItCloses) {
  PollWindow poll(microseconds{50});
  EXPECT_TRUE(poll.enabled());
  EXPECT_EQ(poll.window(), nanoseconds{0});
  poll.record(microseconds{30});  // blocked, woken after 30 us: polling 30 us would have found it
  EXPECT_EQ(poll.window(), PollWindow::kFirstWindow);
  poll.record(microseconds{30});
  EXPECT_EQ(poll.window(), microseconds{8});
  poll.record(microseconds{30});
  poll.record(microseconds{30});
  EXPECT_EQ(poll.window(), microseconds{32});
}

TEST(PollWindow, StaysWhenPollingFindsTheWork) {
  PollWindow poll(microseconds{50});
  for (int i = 0; i < 4; ++i) poll.record(microseconds{30});
  ASSERT_EQ(poll.window(), microseconds{32});
  for (int i = 0; i < 100; ++i) poll.record(microseconds{20});
  EXPECT_EQ(poll.window(), microseconds{32});
}

TEST(PollWindow, NeverExceedsTheOperatorsMaximum) {
  PollWindow poll(microseconds{50});
  for (int i = 0; i < 100; ++i) poll.record(microseconds{49});
  EXPECT_EQ(poll.window(), microseconds{50});
}

TEST(PollWindow, ShrinksWhenPollingFindsNothingWithinTheMaximum) {
  PollWindow poll(microseconds{50});
  for (int i = 0; i < 100; ++i) poll.record(microseconds{49});
  ASSERT_EQ(poll.window(), microseconds{50});
  poll.record(std::chrono::milliseconds{10});  // an idle disk: polling would have been wasted
  EXPECT_EQ(poll.window(), microseconds{25});
  poll.record(std::chrono::seconds{1});
  EXPECT_LT(poll.window(), microseconds{25});
  for (int i = 0; i < 10; ++i) poll.record(std::chrono::seconds{1});
  EXPECT_EQ(poll.window(), nanoseconds{0}) << "a long-idle disk still polls";
}

TEST(PollWindow, NegativeMaximumIsOff) {
  PollWindow poll(nanoseconds{-5});
  EXPECT_FALSE(poll.enabled());
  poll.record(nanoseconds{1});
  EXPECT_EQ(poll.window(), nanoseconds{0});
}

}  // namespace
}  // namespace bulwark::backend
