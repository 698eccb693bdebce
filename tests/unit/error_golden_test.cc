// Golden error text: each tests/errors/NAME.fw must fail with exactly the
// diagnostics in NAME.err, as the user would see them on stderr.
// FWC_UPDATE_GOLDEN=1 regenerates the .err files.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support.h"

using namespace fwc;

TEST_CASE("malformed policies give exactly the expected error text", "[errors]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(FWC_SOURCE_DIR) / "tests" / "errors";
  bool update = std::getenv("FWC_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".fw") cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 5);
  for (const auto& fw : cases) {
    SECTION(fw.filename().string()) {
      FileSystemLoader loader;
      std::string err;
      auto text = loader.Read(fw.string(), &err);
      REQUIRE(text);
      Compilation c;
      bool ok = c.Check(fw.string(), *text, loader, {});
      CHECK_FALSE(ok);
      std::string rendered = c.diags().Render();
      // Paths are shown relative to the source tree, whatever the build dir.
      std::string prefix = dir.string() + "/";
      for (size_t p; (p = rendered.find(prefix)) != std::string::npos;) rendered.replace(p, prefix.size(), "");
      fs::path expected = fw;
      expected.replace_extension(".err");
      if (update) std::ofstream(expected, std::ios::binary) << rendered;
      std::ifstream in(expected, std::ios::binary);
      std::ostringstream want;
      want << in.rdbuf();
      CHECK(rendered == want.str());
    }
  }
}
