// A test-only pause point, compiled in always (tests run the release binaries) and
// inert unless the daemon's environment names a gate file. The cluster tests use it
// to act between an ADD's steps 2 and 3 (cluster_add_plan.h): a `vmipctl release`
// that changes the local lease, or a kill -9 after etcd agreed but before the local
// commit.
//
//   VMIP_TEST_ADD_GATE=PATH  an ADD about to start step 3 creates PATH.reached and
//                            waits while PATH exists (at most 30 s), then goes on.
#pragma once

namespace vmip {

// Returns at once when VMIP_TEST_ADD_GATE is unset or its file does not exist.
void PauseAtAddGate();

}  // namespace vmip
