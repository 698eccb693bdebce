// Shell completion. `fwc completion bash|zsh|fish` prints a script built
// from the very CLI11 app that parses the command line, so a new command,
// option or choice is completed without touching this file. Names after -D
// come from the policy itself: the scripts call the hidden `fwc __defines
// POLICY`, which prints the names the policy tests with 'if'.
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/cli.h"
#include "compiler/syntax/parser.h"

namespace fwc::cli {
namespace {

// What a shell should offer for an option's value or a positional.
enum class Value {
  kNone,    // a flag: no value
  kText,    // free text (a packet, a number): nothing to offer
  kChoice,  // one of `choices`
  kFile,    // any file
  kPolicy,  // a policy file (*.fw) or a directory on the way to one
  kDir,     // a directory
  kDefine,  // a name the policy tests with 'if'
};

struct OptionSpec {
  std::vector<std::string> names;  // "-D", "--define"
  std::string help;
  std::string type;  // NAME, FILE, ...: what zsh shows for the value
  Value value = Value::kNone;
  std::vector<std::string> choices;
};

struct PositionalSpec {
  std::string name;
  Value value = Value::kText;
  std::vector<std::string> choices;
  bool repeats = false;  // takes every word left (import's FILE...)
};

struct CommandSpec {
  std::string name, help;
  std::vector<OptionSpec> options;
  std::vector<PositionalSpec> positionals;
  bool reads_policy = false;  // takes -W flags and -D
};

struct CompletionSpec {
  std::vector<OptionSpec> global;
  std::vector<CommandSpec> commands;
  std::vector<std::string> codes;  // what -WCODE takes
};

// CLI11 spells an IsMember check into the type name: "TEXT:{a,b,c}".
std::vector<std::string> Choices(const std::string& type_name) {
  std::vector<std::string> out;
  size_t open = type_name.find(":{");
  if (open == std::string::npos) return out;
  size_t close = type_name.find('}', open);
  std::stringstream in(type_name.substr(open + 2, close - open - 2));
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string BaseType(const std::string& type_name) { return type_name.substr(0, type_name.find(':')); }

OptionSpec DescribeOption(const CLI::Option& opt) {
  OptionSpec o;
  for (const auto& s : opt.get_snames()) o.names.push_back("-" + s);
  for (const auto& l : opt.get_lnames()) o.names.push_back("--" + l);
  o.help = opt.get_description();
  if (opt.get_items_expected_max() == 0) return o;  // a flag
  o.type = BaseType(opt.get_type_name());
  o.choices = Choices(opt.get_type_name());
  if (!o.choices.empty()) o.value = Value::kChoice;
  else if (opt.check_sname("D")) o.value = Value::kDefine;
  else if (o.type == "FILE") o.value = Value::kFile;
  else if (o.type == "DIR") o.value = Value::kDir;
  else o.value = Value::kText;
  return o;
}

PositionalSpec DescribePositional(const CLI::Option& opt) {
  PositionalSpec p;
  p.name = opt.get_name();
  p.choices = Choices(opt.get_type_name());
  p.repeats = opt.get_expected_max() > 1;
  if (!p.choices.empty()) p.value = Value::kChoice;
  else if (p.name == "POLICY" || p.name == "NEW") p.value = Value::kPolicy;
  else if (p.name == "FILE") p.value = Value::kFile;
  return p;
}

CompletionSpec Describe(const CLI::App& app) {
  CompletionSpec spec;
  for (const CLI::Option* opt : app.get_options())
    if (!opt->get_positional()) spec.global.push_back(DescribeOption(*opt));
  // Hidden commands (the watchdog, __defines) have no group.
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    CommandSpec c{sub->get_name(), sub->get_description(), {}, {}, false};
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->get_positional()) c.positionals.push_back(DescribePositional(*opt));
      else c.options.push_back(DescribeOption(*opt));
    }
    c.reads_policy = !c.positionals.empty() && c.positionals[0].name == "POLICY";
    spec.commands.push_back(std::move(c));
  }
  spec.codes = DiagnosticControl::ControllableCodes();
  return spec;
}

// Every -W flag, spelt out: shells complete words, not patterns.
std::vector<std::string> WarningFlags(const CompletionSpec& spec) {
  std::vector<std::string> out = {"-Werror", "-Wno-error"};
  for (const auto& c : spec.codes) out.push_back("-W" + c);
  for (const auto& c : spec.codes) out.push_back("-Wno-" + c);
  for (const auto& c : spec.codes) out.push_back("-Werror=" + c);
  for (const auto& c : spec.codes) out.push_back("-Wno-error=" + c);
  return out;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The words and descriptions reach a shell script: keep them to what the
// script quotes safely (they come from fwc's own source, but a description
// with a quote must not end the string).
std::string SingleQuoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

const char* ValueName(Value v) {
  switch (v) {
    case Value::kNone: return "none";
    case Value::kText: return "text";
    case Value::kChoice: return "choice";
    case Value::kFile: return "file";
    case Value::kPolicy: return "policy";
    case Value::kDir: return "dir";
    case Value::kDefine: return "define";
  }
  return "text";
}

// ---- bash ----------------------------------------------------------------
// No dependency on the bash-completion package's helpers: the script works
// in a bare bash. `=` splits words (COMP_WORDBREAKS), so "--color=al" comes
// as "--color" "=" "al".
std::string BashScript(const CompletionSpec& spec, const std::string& version) {
  std::ostringstream s;
  // After a command, of fwc's own options only those that take a value
  // (--color) make sense: the command has its own --help.
  std::vector<std::string> names, global_opts, fallthrough_opts;
  for (const auto& c : spec.commands) names.push_back(c.name);
  for (const auto& o : spec.global) global_opts.insert(global_opts.end(), o.names.begin(), o.names.end());
  for (const auto& o : spec.global)
    if (o.value != Value::kNone) fallthrough_opts.insert(fallthrough_opts.end(), o.names.begin(), o.names.end());

  s << "# bash completion for fwc " << version << ", generated by `fwc completion bash`.\n"
    << "# Install: fwc completion bash > /usr/share/bash-completion/completions/fwc\n\n";
  // _fwc_value_of CMD OPT: sets kind (and choices) for an option that takes
  // a value; fails for a flag or an unknown option.
  s << "_fwc_value_of() {\n  case \"$1:$2\" in\n";
  auto value_case = [&s](const std::string& cmd, const OptionSpec& o) {
    if (o.value == Value::kNone) return;
    std::vector<std::string> keys;
    for (const auto& n : o.names) keys.push_back(cmd + ":" + n);
    s << "    " << Join(keys, "|") << ") kind=" << ValueName(o.value);
    if (!o.choices.empty()) s << "; choices=" << SingleQuoted(Join(o.choices));
    s << " ;;\n";
  };
  for (const auto& c : spec.commands)
    for (const auto& o : c.options) value_case(c.name, o);
  for (const auto& o : spec.global) value_case("*", o);
  s << "    *) return 1 ;;\n  esac\n}\n\n";
  // _fwc_positional CMD N: sets kind (and choices) for the Nth positional.
  s << "_fwc_positional() {\n  case \"$1\" in\n";
  for (const auto& c : spec.commands) {
    if (c.positionals.empty()) continue;
    s << "    " << c.name << ")\n      case \"$2\" in\n";
    for (size_t i = 0; i < c.positionals.size(); ++i) {
      const auto& p = c.positionals[i];
      bool last = i + 1 == c.positionals.size();
      s << "        " << (last && p.repeats ? "*" : std::to_string(i)) << ") kind=" << ValueName(p.value);
      if (!p.choices.empty()) s << "; choices=" << SingleQuoted(Join(p.choices));
      s << " ;;\n";
    }
    s << "      esac ;;\n";
  }
  s << "  esac\n}\n\n";
  s << "_fwc_options() {\n  case \"$1\" in\n";
  for (const auto& c : spec.commands) {
    std::vector<std::string> opts;
    for (const auto& o : c.options) opts.insert(opts.end(), o.names.begin(), o.names.end());
    s << "    " << c.name << ") echo " << SingleQuoted(Join(opts)) << " ;;\n";
  }
  s << "  esac\n}\n\n";
  std::vector<std::string> policy_commands;
  for (const auto& c : spec.commands)
    if (c.reads_policy) policy_commands.push_back(c.name);

  s << "_fwc() {\n"
       "  local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= cmd= kind= choices= policy= w i n=0\n"
       "  local IFS=$' \\t\\n'\n"
       "  COMPREPLY=()\n"
       "  ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
       "  # The command, and how many positionals come before the cursor.\n"
       "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
       "    w=${COMP_WORDS[i]}\n"
       "    if [[ $w == -?* ]]; then\n"
       "      if [[ $w != *=* ]] && _fwc_value_of \"${cmd:-*}\" \"$w\"; then\n"
       "        if [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i += 1)); fi\n"
       "      fi\n"
       "      continue\n"
       "    fi\n"
       "    if [[ -z $cmd ]]; then cmd=$w; continue; fi\n"
       "    ((n == 0)) && policy=$w\n"
       "    ((n += 1))\n"
       "  done\n"
       "  # Is the word under the cursor an option's value?\n"
       "  if [[ $cur == = ]]; then opt=$prev; cur=\n"
       "  elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then opt=${COMP_WORDS[COMP_CWORD-2]}\n"
       "  elif [[ $prev == -?* ]]; then opt=$prev\n"
       "  fi\n"
       "  kind=\n"
       "  if [[ -n $opt ]] && _fwc_value_of \"${cmd:-*}\" \"$opt\"; then :\n"
       "  elif [[ -n $opt ]] && _fwc_value_of '*' \"$opt\"; then :\n"
       "  elif [[ -z $cmd ]]; then\n"
       "    if [[ $cur == -* ]]; then\n"
       "      COMPREPLY=($(compgen -W " << SingleQuoted(Join(global_opts)) << " -- \"$cur\"))\n"
       "    else\n"
       "      COMPREPLY=($(compgen -W " << SingleQuoted(Join(names)) << " -- \"$cur\"))\n"
       "    fi\n"
       "    return 0\n"
       "  elif [[ $cur == -W* ]]; then\n"
       "    case \" " << Join(policy_commands) << " \" in\n"
       "      *\" $cmd \"*) COMPREPLY=($(compgen -W " << SingleQuoted(Join(WarningFlags(spec))) << " -- \"$cur\")) ;;\n"
       "    esac\n"
       "    return 0\n"
       "  elif [[ $cur == -* ]]; then\n"
       "    COMPREPLY=($(compgen -W \"$(_fwc_options \"$cmd\") " << Join(fallthrough_opts) << "\" -- \"$cur\"))\n"
       "    return 0\n"
       "  else\n"
       "    _fwc_positional \"$cmd\" \"$n\"\n"
       "  fi\n"
       "  case $kind in\n"
       "    choice) COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\")) ;;\n"
       "    define)\n"
       "      [[ $policy == \"~\"/* ]] && policy=$HOME/${policy#\"~\"/}\n"
       "      [[ -n $policy ]] &&\n"
       "        COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" __defines -- \"$policy\" 2>/dev/null)\" -- \"$cur\")) ;;\n"
       "    policy)\n"
       "      compopt -o filenames 2>/dev/null\n"
       "      IFS=$'\\n'\n"
       "      COMPREPLY=($(compgen -d -- \"$cur\") $(compgen -f -X '!*.fw' -- \"$cur\")) ;;\n"
       "    file)\n"
       "      compopt -o filenames 2>/dev/null\n"
       "      IFS=$'\\n'\n"
       "      COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
       "    dir)\n"
       "      compopt -o filenames 2>/dev/null\n"
       "      IFS=$'\\n'\n"
       "      COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
       "  esac\n"
       "  return 0\n"
       "}\n"
       "complete -F _fwc fwc\n";
  return s.str();
}

// ---- zsh -----------------------------------------------------------------
// One _arguments spec per option name, so -D and --define each complete.
std::string ZshEscape(const std::string& help) {
  std::string out;
  for (char ch : help) {
    if (ch == '[' || ch == ']' || ch == ':' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string ZshAction(Value v, const std::vector<std::string>& choices) {
  switch (v) {
    case Value::kChoice: return "(" + Join(choices) + ")";
    case Value::kFile: return "_files";
    case Value::kPolicy: return "_files -g \"*.fw\"";
    case Value::kDir: return "_files -/";
    case Value::kDefine: return "_fwc_defines";
    default: return " ";
  }
}

std::vector<std::string> ZshOptionSpecs(const OptionSpec& o) {
  std::vector<std::string> out;
  for (const auto& n : o.names) {
    std::string spec = n;
    if (o.value != Value::kNone) spec = "*" + n + (n.size() == 2 ? "+" : "=");
    spec += "[" + ZshEscape(o.help) + "]";
    if (o.value != Value::kNone)
      spec += ":" + ZshEscape(o.type.empty() ? "value" : o.type) + ":" + ZshAction(o.value, o.choices);
    out.push_back(SingleQuoted(spec));
  }
  return out;
}

std::string ZshScript(const CompletionSpec& spec, const std::string& version) {
  std::ostringstream s;
  s << "#compdef fwc\n"
    << "# zsh completion for fwc " << version << ", generated by `fwc completion zsh`.\n"
    << "# Install: fwc completion zsh > /usr/share/zsh/vendor-completions/_fwc\n\n";
  // $line holds the command's positionals so far; the first is the policy.
  s << "_fwc_defines() {\n"
       "  local policy=${(Q)line[1]}\n"
       "  [[ -n $policy ]] || return 1\n"
       "  local -a names\n"
       "  names=(${(f)\"$(${fwc_command:-fwc} __defines -- ${~policy} 2>/dev/null)\"})\n"
       "  compadd -a names\n"
       "}\n\n";
  // fwc_command: how fwc was typed (build/fwc, ~/bin/fwc), before _arguments
  // shifts the words; _fwc_defines runs that same fwc.
  s << "_fwc() {\n  local curcontext=$curcontext state line ret=1 fwc_command=$words[1]\n  local -a commands\n  commands=(\n";
  for (const auto& c : spec.commands) s << "    " << SingleQuoted(c.name + ":" + ZshEscape(c.help)) << "\n";
  s << "  )\n  # -A: options after the command belong to it (it repeats --color).\n  _arguments -C -A \"-*\" \\\n";
  for (const auto& o : spec.global)
    for (const auto& a : ZshOptionSpecs(o)) s << "    " << a << " \\\n";
  s << "    '1:command:->command' \\\n    '*::argument:->argument' && ret=0\n"
       "  case $state in\n"
       "    command) _describe -t commands 'fwc command' commands && ret=0 ;;\n"
       "    argument)\n      curcontext=${curcontext%:*:*}:fwc-$words[1]:\n      case $words[1] in\n";
  std::vector<std::string> wflags;
  for (const auto& w : WarningFlags(spec)) wflags.push_back(SingleQuoted(w + "[warning flag]"));
  for (const auto& c : spec.commands) {
    s << "        " << c.name << ")\n          _arguments \\\n";
    for (const auto& o : c.options)
      for (const auto& a : ZshOptionSpecs(o)) s << "            " << a << " \\\n";
    for (const auto& o : spec.global)  // --color: the command has its own --help
      if (o.value != Value::kNone)
        for (const auto& a : ZshOptionSpecs(o)) s << "            " << a << " \\\n";
    if (c.reads_policy)
      for (const auto& w : wflags) s << "            " << "'*'" << w << " \\\n";
    for (size_t i = 0; i < c.positionals.size(); ++i) {
      const auto& p = c.positionals[i];
      bool rest = i + 1 == c.positionals.size() && p.repeats;
      std::string lead = rest ? "*" : std::to_string(i + 1);
      s << "            " << SingleQuoted(lead + ":" + p.name + ":" + ZshAction(p.value, p.choices)) << " \\\n";
    }
    s << "            && ret=0 ;;\n";
  }
  // Autoloaded from $fpath the file is _fwc's body; sourced, it registers.
  s << "      esac ;;\n  esac\n  return ret\n}\n\n"
       "if [[ $funcstack[1] == _fwc ]]; then\n  _fwc \"$@\"\nelse\n  compdef _fwc fwc\nfi\n";
  return s.str();
}

// ---- fish ----------------------------------------------------------------
std::string FishScript(const CompletionSpec& spec, const std::string& version) {
  std::ostringstream s;
  s << "# fish completion for fwc " << version << ", generated by `fwc completion fish`.\n"
    << "# Install: fwc completion fish > /usr/share/fish/vendor_completions.d/fwc.fish\n\n";
  // The policy is the first word after the command that is neither an
  // option nor an option's value.
  std::vector<std::string> valued;
  for (const auto& c : spec.commands)
    for (const auto& o : c.options)
      if (o.value != Value::kNone) valued.insert(valued.end(), o.names.begin(), o.names.end());
  for (const auto& o : spec.global)
    if (o.value != Value::kNone) valued.insert(valued.end(), o.names.begin(), o.names.end());
  std::vector<std::string> names;
  for (const auto& c : spec.commands) names.push_back(c.name);
  s << "function __fwc_defines\n"
       "    set -l tokens (commandline -opc)\n"
       "    set -l seen_cmd 0\n"
       "    set -l skip 0\n"
       "    for t in $tokens[2..-1]\n"
       "        if test $skip = 1\n"
       "            set skip 0\n"
       "            continue\n"
       "        end\n"
       "        if contains -- $t " << Join(valued) << "\n"
       "            set skip 1\n"
       "            continue\n"
       "        end\n"
       "        string match -q -- '-*' $t; and continue\n"
       "        if test $seen_cmd = 0\n"
       "            set seen_cmd 1\n"
       "            continue\n"
       "        end\n"
       "        $tokens[1] __defines -- $t 2>/dev/null\n"
       "        return\n"
       "    end\n"
       "end\n\n";
  // __fish_complete_suffix offers every file, .fw first; a policy is a .fw.
  s << "function __fwc_policies\n"
       "    for f in (commandline -ct)*\n"
       "        if test -d $f\n"
       "            echo $f/\n"
       "        else if string match -q -- '*.fw' $f\n"
       "            echo $f\n"
       "        end\n"
       "    end\n"
       "end\n\n";
  s << "complete -c fwc -f\n";
  auto option = [&s](const std::string& condition, const OptionSpec& o) {
    s << "complete -c fwc -n " << SingleQuoted(condition);
    for (const auto& n : o.names) {
      if (n.size() == 2) s << " -s " << n.substr(1);
      else if (n[1] == '-') s << " -l " << n.substr(2);
      else s << " -o " << n.substr(1);
    }
    switch (o.value) {
      case Value::kNone: break;
      case Value::kChoice: s << " -x -a " << SingleQuoted(Join(o.choices)); break;
      case Value::kFile: s << " -r -F"; break;
      case Value::kPolicy: s << " -x -a '(__fwc_policies)'"; break;
      case Value::kDir: s << " -x -a '(__fish_complete_directories)'"; break;
      case Value::kDefine: s << " -x -a '(__fwc_defines)'"; break;
      case Value::kText: s << " -x"; break;
    }
    s << " -d " << SingleQuoted(o.help) << "\n";
  };
  for (const auto& o : spec.global) option(o.value == Value::kNone ? "__fish_use_subcommand" : "true", o);
  for (const auto& c : spec.commands)
    s << "complete -c fwc -n '__fish_use_subcommand' -a " << c.name << " -d " << SingleQuoted(c.help) << "\n";
  for (const auto& c : spec.commands) {
    std::string in = "__fish_seen_subcommand_from " + c.name;
    for (const auto& o : c.options) option(in, o);
    if (c.reads_policy)
      for (const auto& w : WarningFlags(spec)) s << "complete -c fwc -n " << SingleQuoted(in) << " -o " << w.substr(1) << " -d 'warning flag'\n";
    if (!c.positionals.empty()) {
      const auto& p = c.positionals[0];
      if (p.value == Value::kPolicy) s << "complete -c fwc -n " << SingleQuoted(in) << " -a '(__fwc_policies)'\n";
      else if (p.value == Value::kFile) s << "complete -c fwc -n " << SingleQuoted(in) << " -F\n";
      else if (p.value == Value::kChoice) s << "complete -c fwc -n " << SingleQuoted(in) << " -a " << SingleQuoted(Join(p.choices)) << "\n";
    }
  }
  return s.str();
}

}  // namespace

void AddCompletionCommands(CLI::App& app, Registry& registry) {
  auto shell = std::make_shared<std::string>();
  CLI::App* comp = app.add_subcommand("completion", "print the completion script for bash, zsh or fish");
  comp->add_option("SHELL", *shell, "the shell")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  // Describe the app when the command runs: by then every command is added.
  registry.Add(comp, [shell, &app] {
    CompletionSpec spec = Describe(app);
    std::string version = FWC_VERSION;
    if (*shell == "bash") std::cout << BashScript(spec, version);
    else if (*shell == "zsh") std::cout << ZshScript(spec, version);
    else std::cout << FishScript(spec, version);
    return kExitOk;
  });

  // The names a policy tests with 'if', one per line: what -D completes.
  // Quiet and tolerant: a policy with errors still names its conditions.
  auto policy = std::make_shared<std::string>();
  CLI::App* defines = app.add_subcommand("__defines", "");
  defines->group("");
  defines->add_option("POLICY", *policy)->required();
  registry.Add(defines, [policy] {
    FileSystemLoader loader;
    std::string err;
    auto text = loader.Read(*policy, &err);
    if (!text) return kExitUsage;
    Compilation c;
    c.set_analysis(false);
    c.Check(*policy, std::move(*text), loader, {});
    for (const auto& name : c.model().conditions) std::cout << name << "\n";
    return kExitOk;
  });
}

}  // namespace fwc::cli
