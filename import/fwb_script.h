// The ruleset inside a script compiled by Firewall Builder's fwb_ipt (with
// its "use iptables-restore" setting, the default of fwb 5 for atomic
// loads): the lines its script_body echoes into iptables-restore and
// ip6tables-restore. Read without running the script, and with the
// script's own line numbers, so `fwc import --check FILE.fwb --against
// fw.fw` compares the import with what fwb_ipt made of the same file.
#pragma once

#include <string>

#include "import/importer.h"
#include "import/ruleset.h"

namespace fwc::import {

bool ReadFwbScript(const std::string& script, int file, SourceRuleset& out, ImportReporter& report);

}  // namespace fwc::import
