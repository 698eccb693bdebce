#include "backends/registry.h"

#include "backends/iptables/iptables_backend.h"
#include "backends/nft/nft_backend.h"

namespace fwc {

std::unique_ptr<Backend> MakeBackend(const std::string& name) {
  if (name == "nft") return std::make_unique<NftBackend>();
  if (name == "iptables") return std::make_unique<IptablesBackend>();
  return nullptr;
}

std::vector<std::string> BackendNames() { return {"nft", "iptables"}; }

}  // namespace fwc
