#pragma once
// Where the connector state lives between runs: the interface the run loop saves its checkpoints
// through. The stores (OpenCTI's connector state, a local file, memory) are in state_stores.h.
#include <expected>
#include <string>

#include "kfc/runner/state.h"

namespace kfc::runner {

class StateStore {
 public:
  virtual ~StateStore() = default;
  // The current state; an error says what is wrong and how to fix it.
  virtual std::expected<ConnectorState, std::string> load() = 0;
  // Durable when it returns (throws std::runtime_error otherwise: a checkpoint that did not land
  // must not be taken for one that did).
  virtual void save(const ConnectorState& state) = 0;
  // For log lines: "state file /var/lib/kfc/state.json", "OpenCTI connector state".
  virtual std::string describe() const = 0;
};

}  // namespace kfc::runner
