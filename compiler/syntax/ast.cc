#include "compiler/syntax/ast.h"

namespace fwc::ast {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kAccept: return "accept";
    case Action::kDrop: return "drop";
    case Action::kReject: return "reject";
  }
  return "drop";
}

}  // namespace fwc::ast
