// Build tool: prints the systemd unit the Debian package ships (see
// PackagedUnitText), so that it comes from the code that writes fwc
// install's units and cannot drift from them.
#include <iostream>

#include "apply/boot_install.h"

int main(int argc, char** argv) {
  std::cout << fwc::apply::PackagedUnitText(argc > 1 ? argv[1] : "/usr/sbin/nft");
  return std::cout ? 0 : 1;
}
