# bash completion for aim(1) and aim-resolve, aim-invoke, aim-fanout,
# aim-apply, aim-audit, aim-secret, aim-scan, aim-init, aim-run, aim-install,
# aim-cache.  Installed as
# share/bash-completion/completions/aim
# (the other names are symlinks to it); to try it from the source tree:
#   . completion/aim.bash
# Subcommands and options are those of each program's --help; capability
# names and tool ids are read from the registry the command would use (-r,
# else AIM_REGISTRY_PATH, else the nearest .AIM_ai-tools-registry up from
# the working directory, else ~/.AIM_ai-tools-registry) with jq, and are
# left out quietly when jq is missing; secret names come from
# `aim-secret list`, run without a terminal so that it never asks for a
# passphrase (a vault that opens with a key file only).
# shellcheck shell=bash

# _aim_cmd NAME: the program NAME next to the command being completed
# (when that was typed with a directory), else NAME itself.
_aim_cmd()
{
	local w=${COMP_WORDS[0]}
	if [[ $w == */* && -x ${w%/*}/$1 ]]; then
		printf '%s\n' "${w%/*}/$1"
	else
		printf '%s\n' "$1"
	fi
}

# _aim_registry [DIR]: print the registry directory in use: DIR (from -r),
# else $AIM_REGISTRY_PATH, else the nearest .AIM_ai-tools-registry from the
# working directory up, else the one in HOME; nothing when there is none.
_aim_registry()
{
	local d=${1:-} up
	if [[ -n $d ]]; then
		[[ $d == "~"/* ]] && d=$HOME/${d#"~"/}
	elif [[ -n ${AIM_REGISTRY_PATH:-} ]]; then
		d=$AIM_REGISTRY_PATH
	else
		up=$PWD
		while :; do
			d=${up%/}/.AIM_ai-tools-registry
			[[ -d $d ]] && break
			if [[ -z $up || $up == / ]]; then
				d=${HOME:+$HOME/.AIM_ai-tools-registry}
				break
			fi
			up=${up%/*}
		done
	fi
	[[ -n $d && -d $d ]] && printf '%s\n' "$d"
}

# _aim_registry_words tools|capabilities [DIR]: the tool ids of the
# registry, or its capability names (those of its tools and of its
# coordination rules), one a line, sorted; nothing without jq.
_aim_registry_words()
{
	local reg
	type -P jq >/dev/null 2>&1 || return 0
	reg=$(_aim_registry "${2:-}") || return 0
	if [[ $1 == tools ]]; then
		jq -r '.tools // {} | objects | keys[]' \
		    "$reg/AIM_registry.json" 2>/dev/null
	else
		{
			jq -r '.tools // {} | objects | .[] | objects
			    | .capabilities // [] | arrays | .[] | strings' \
			    "$reg/AIM_registry.json"
			jq -r '.capabilities // {} | objects | keys[]' \
			    "$reg/AIM_cross-tool/AIM_coordination-rules.json"
		} 2>/dev/null
	fi | LC_ALL=C sort -u
}

# _aim_secret_names: the names in the vault, from `aim-secret list` with
# the -f and -k of the line, in a session of its own (setsid: no terminal
# to ask a passphrase on); without setsid, only when a key file is known.
_aim_secret_names()
{
	local -a a=() s=()
	[[ -n ${_aim_opt[-f]:-} ]] && a+=(-f "${_aim_opt[-f]}")
	[[ -n ${_aim_opt[-k]:-} ]] && a+=(-k "${_aim_opt[-k]}")
	if type -P setsid >/dev/null 2>&1; then
		s=(setsid -w)
	elif [[ -z ${_aim_opt[-k]:-} && -z ${AIM_VAULT_KEYFILE:-} ]]; then
		return 0
	fi
	"${s[@]}" "$(_aim_cmd aim-secret)" "${a[@]}" list </dev/null 2>/dev/null |
	    sed -n 's/^{"name":"\([^"]*\)".*/\1/p'
}

# _aim_help_opts CMD...: the options CMD... --help lists (words starting
# with - on its lines that start with blanks and -).
_aim_help_opts()
{
	"$@" --help </dev/null 2>/dev/null |
	    sed -n 's/^[[:space:]]*-/-/p' |
	    grep -oE '(^|[ ,])--?[[:alnum:]][-[:alnum:]]*' | tr -d ' ,'
}

# _aim_reply WORD...: add to COMPREPLY the WORDs that start with _aim_cur.
_aim_reply()
{
	local w
	for w in "$@"; do
		[[ $w == "$_aim_cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

# _aim_reply_lines: the same for the lines of the standard input (give it
# a redirection, not a pipe: COMPREPLY must be set in this shell).
_aim_reply_lines()
{
	local -a l
	mapfile -t l
	_aim_reply "${l[@]}"
}

# _aim_arg KIND: complete _aim_cur as an argument of KIND: file, dir,
# tool, capability, secret, none, or set=WORD,WORD,... (the words given).
_aim_arg()
{
	local reg=${_aim_opt[-r]:-${_aim_opt[--registry]:-}}
	local -a l
	case $1 in
	file | dir)
		compopt -o filenames 2>/dev/null
		mapfile -t l < <(compgen -"${1:0:1}" -- "$_aim_cur")
		COMPREPLY+=("${l[@]}")
		;;
	tool) _aim_reply_lines < <(_aim_registry_words tools "$reg") ;;
	capability)
		_aim_reply_lines < <(_aim_registry_words capabilities "$reg")
		;;
	secret) _aim_reply_lines < <(_aim_secret_names) ;;
	set=*)
		IFS=, read -ra l <<<"${1#set=}"
		_aim_reply "${l[@]}"
		;;
	esac
	return 0
}

# _aim_parse CUR ARGOPTS [SUBS]: read the words before the cursor.  CUR is
# the word being completed (bash's second argument); ARGOPTS lists the
# options that take an argument as "OPTION:KIND" (KIND as for _aim_arg);
# SUBS the subcommands.  Sets, in the caller's locals, _aim_cur, _aim_want
# (the KIND wanted when the cursor is on an option's argument, else empty),
# _aim_opt[OPTION] (the argument of each such option, as written), _aim_sub
# (the first word of SUBS met), _aim_npos (other non-option words) and
# _aim_seen (every word, between spaces).
_aim_parse()
{
	local -a w=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
	local argopts=" $2 " subs=" ${3:-} " end=$COMP_CWORD lim o='' i k kind
	_aim_cur=$1 _aim_want='' _aim_sub='' _aim_npos=0 _aim_seen=" "
	# "--opt=value" arrives as "--opt" "=" "value": = breaks words.
	if [[ ${w[end]} == = ]]; then
		_aim_cur='' o=${w[end - 1]} lim=$((end - 1))
	elif ((end >= 2)) && [[ ${w[end - 1]} == = ]]; then
		o=${w[end - 2]} lim=$((end - 2))
	else
		lim=$end
	fi
	for ((i = 1; i < lim; i++)); do
		k=${w[i]}
		_aim_seen+="$k "
		if ((i + 1 < lim)) && [[ ${w[i + 1]} == = ]]; then
			((i + 2 < lim)) && [[ $argopts == *" $k:"* ]] &&
			    _aim_opt[$k]=${w[i + 2]}
			i=$((i + 2))
			continue
		fi
		if [[ $k == -* && $argopts == *" $k:"* ]]; then
			if ((i + 1 == lim)); then
				o=$k
				break
			fi
			i=$((i + 1))
			_aim_opt[$k]=${w[i]}
		elif [[ $k != -* ]]; then
			if [[ -z $_aim_sub && $subs == *" $k "* ]]; then
				_aim_sub=$k
			else
				_aim_npos=$((_aim_npos + 1))
			fi
		fi
	done
	if [[ -n $o && $argopts == *" $o:"* ]]; then
		kind=${argopts#* "$o:"}
		_aim_want=${kind%% *}
	fi
	return 0
}

# _aim_has OPTION...: whether one of the OPTIONs is on the line.
_aim_has()
{
	local o
	for o in "$@"; do
		[[ $_aim_seen == *" $o "* ]] && return 0
	done
	return 1
}

_aim_resolve()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -c --config -r --registry --check --reset-cooldown \
		    -h --help -V --version
	elif _aim_has --reset-cooldown; then
		_aim_arg tool
	else
		_aim_arg file
	fi
}

_aim_invoke()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir \
	    -j:none --jobs:none"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -c --config -j --jobs -n --dry-run --no-cache \
		    -r --registry -s --strict -u --unordered -h --help \
		    -V --version
	else
		_aim_arg file
	fi
}

_aim_fanout()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir \
	    -n:none --count:none \
	    -o:set=smallest-diff,lowest-cost,fastest,judge \
	    --order:set=smallest-diff,lowest-cost,fastest,judge \
	    -t:tool --tools:tool --copy:file --judge:capability --link:file \
	    --setup:none --verify:none"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -c --config --copy --judge -k --keep --link -n --count \
		    -o --order -r --registry --setup -t --tools --verify \
		    -h --help -V --version
	else
		_aim_arg file
	fi
}

_aim_apply()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-t:tool --tool:tool"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -n --dry-run -t --tool -h --help -V --version
	else
		_aim_arg file
	fi
}

_aim_audit()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	local -a g=(-c --config -d --dir -r --registry)
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -d:dir --dir:dir -r:dir \
	    --registry:dir -s:file -k:file --checkpoint:file --days:none \
	    --capability:capability --id:none \
	    --kind:set=invocation,prune,secret_set,secret_get,secret_delete,health_check,scan_execute,config_update,error \
	    -n:none --since:set=today,yesterday --until:set=today,yesterday \
	    --tool:tool --textfile:file" \
	    "keygen checkpoint verify prune query stats metrics"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
		return
	fi
	if [[ $_aim_cur == -* ]]; then
		case $_aim_sub in
		keygen) _aim_reply -s ;;
		checkpoint) _aim_reply "${g[@]}" -s ;;
		verify) _aim_reply "${g[@]}" -k --checkpoint ;;
		prune) _aim_reply "${g[@]}" --days --dry-run ;;
		query)
			_aim_reply "${g[@]}" --capability --csv --failed --id --kind -n \
			    --since --tool --until
			;;
		stats) _aim_reply "${g[@]}" ;;
		metrics) _aim_reply "${g[@]}" --textfile ;;
		*) _aim_reply "${g[@]}" -h --help -V --version ;;
		esac
	elif [[ -z $_aim_sub ]]; then
		((_aim_npos == 0)) &&
		    _aim_reply keygen checkpoint verify prune query stats metrics
		_aim_arg file
	elif [[ $_aim_sub == verify ]] && _aim_has --checkpoint; then
		_aim_arg file
	fi
}

_aim_secret()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-f:file -k:file --passphrase-fd:none --keyfile:file \
	    -d:none" "init set get list rm rekey path"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		case $_aim_sub in
		'') _aim_reply -f -k --passphrase-fd -h --help -V --version ;;
		init | rekey) _aim_reply --keyfile ;;
		set) _aim_reply --allow-empty -d ;;
		esac
	elif [[ -z $_aim_sub ]]; then
		_aim_reply init set get list rm rekey path
	elif ((_aim_npos == 0)); then
		case $_aim_sub in
		set | get | rm) _aim_arg secret ;;
		esac
	fi
}

_aim_scan()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir \
	    -e:none --ext:none -m:none --min-size:none" \
	    "tools health dups caches clean"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		case $_aim_sub in
		'')	# the global options only (aim(7) COMMAND LINES)
			_aim_reply -c --config -H --human --no-cache \
			    -r --registry -h --help -V --version
			;;
		tools)
			_aim_reply -H --human --no-cache -c --config \
			    -r --registry
			;;
		health)
			_aim_reply -H --human --no-cache -W --warn-ok \
			    -c --config -r --registry
			;;
		dups)
			_aim_reply -H --human --no-hash -c --config -e --ext \
			    -m --min-size
			;;
		caches) _aim_reply -H --human -c --config ;;
		clean)
			_aim_reply -b --build -H --human -n --dry-run -y --yes
			;;
		esac
	elif [[ -z $_aim_sub ]]; then
		_aim_reply tools health dups caches clean
	else
		case $_aim_sub in
		dups | caches) _aim_arg dir ;;
		clean) _aim_arg file ;;
		esac
	fi
}

_aim_init()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "--from:dir"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -f --force --from -j --json -n --dry-run -h --help \
		    -V --version
	elif ((_aim_npos == 0)); then
		_aim_arg dir
	fi
}

# aim-run [options] capability [file ...]: the capability first (from the
# registry of -r), then files; tool ids after -t.
_aim_run()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -d:dir --audit-dir:dir \
	    --deadline:none -j:none --jobs:none -p:none --prompt:none \
	    -r:dir --registry:dir -t:tool --tool:tool --timeout:none \
	    --steps:none -w:none --workflow:none"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -c --config -d --audit-dir --deadline -e --each \
		    -j --jobs --json -n --dry-run --no-cache -p --prompt \
		    -r --registry -s --strict --steps -t --tool --timeout \
		    -w --workflow -h --help -V --version
	elif ((_aim_npos == 0)) && ! _aim_has --steps -w --workflow; then
		_aim_arg capability
	else
		_aim_arg file
	fi
}

# aim-install command [options] [tool ...]: the command, then its options
# and the registry's tool ids.
_aim_install()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir \
	    -j:none --jobs:none --bin-dir:dir" \
	    "install upgrade uninstall rollback sync bootstrap"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ -z $_aim_sub && $_aim_cur != -* ]]; then
		_aim_reply install upgrade uninstall rollback sync bootstrap
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -a --all --bin-dir -c --config -j --jobs --json \
		    -L --locked -n --dry-run --no-input -r --registry \
		    -h --help -V --version
	elif [[ $_aim_sub != sync && $_aim_sub != bootstrap ]]; then
		_aim_arg tool
	fi
}

# aim-cache [options] stats|clear|prune: the command, then nothing.
_aim_cache()
{
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir \
	    --max-bytes:none"
	if [[ -n $_aim_want ]]; then
		_aim_arg "$_aim_want"
	elif [[ $_aim_cur == -* ]]; then
		_aim_reply -c --config --json --max-bytes -r --registry \
		    -h --help -V --version
	elif ((_aim_npos == 0)); then
		_aim_reply stats clear prune
	fi
}

# _aim_commands: the commands of `aim --help` (static when that fails)
# and NAME for each aim-NAME program on PATH.
_aim_commands()
{
	local c
	c=$("$(_aim_cmd aim)" --help </dev/null 2>/dev/null |
	    sed -n '/^commands:/,/^$/s/^  \([a-z][-a-z0-9]*\) .*/\1/p')
	[[ -n $c ]] || c=$'run\nstatus\nhealth\nscan\nresolve\ninvoke\nfanout\napply\naudit\nsecret\ninit\nmetrics\ninstall\nupgrade\nuninstall\nrollback\nsync\nbootstrap\ncache'
	{
		printf '%s\n' "$c"
		compgen -c aim- | sed 's/^aim-//'
	} | LC_ALL=C sort -u
}

# aim [-hV] command [argument ...]: the aim-* commands are completed by
# their own functions, on the words after the command; another aim-NAME by
# the options its --help lists, and files.
_aim()
{
	local i sub=
	local _aim_cur _aim_want _aim_sub _aim_npos _aim_seen
	local -A _aim_opt=()
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} != -* ]]; then
			sub=${COMP_WORDS[i]}
			break
		fi
	done
	_aim_cur=$2
	if [[ -z $sub ]]; then
		if [[ $_aim_cur == -* ]]; then
			_aim_reply -h --help -V --version
		else
			_aim_reply_lines < <(_aim_commands)
		fi
		return
	fi
	# The words from the command on, the command named as its program
	# (aim-NAME, next to aim when aim was typed with a directory).
	local top=${COMP_WORDS[0]}
	local -a COMP_WORDS=("${COMP_WORDS[@]:i}")
	local COMP_CWORD=$((COMP_CWORD - i))
	COMP_WORDS[0]=${top%aim}aim-$sub
	case $sub in
	status)
		_aim_parse "$2" "-c:file --config:file -r:dir --registry:dir"
		if [[ -n $_aim_want ]]; then
			_aim_arg "$_aim_want"
		elif [[ $_aim_cur == -* ]]; then
			_aim_reply -c --config -j --json --no-cache \
			    -r --registry -h --help
		fi
		;;
	health)
		COMP_WORDS=("${top%aim}aim-scan" "${COMP_WORDS[@]}")
		COMP_WORDS[1]=health
		COMP_CWORD=$((COMP_CWORD + 1))
		_aim_scan aim-scan "$2" "$3"
		;;
	metrics)
		COMP_WORDS=("${top%aim}aim-audit" "${COMP_WORDS[@]}")
		COMP_WORDS[1]=metrics
		COMP_CWORD=$((COMP_CWORD + 1))
		_aim_audit aim-audit "$2" "$3"
		;;
	resolve | invoke | fanout | apply | audit | secret | scan | init | run | cache)
		_aim_"$sub" aim-"$sub" "$2" "$3"
		;;
	secrets)
		COMP_WORDS[0]=${top%aim}aim-secret
		_aim_secret aim-secret "$2" "$3"
		;;
	install | upgrade | uninstall | rollback | sync | bootstrap)
		COMP_WORDS=("${top%aim}aim-install" "${COMP_WORDS[@]}")
		COMP_WORDS[1]=$sub
		COMP_CWORD=$((COMP_CWORD + 1))
		_aim_install aim-install "$2" "$3"
		;;
	*)
		if [[ $_aim_cur == -* ]]; then
			_aim_reply_lines < <(_aim_help_opts "$(_aim_cmd aim)" \
			    "$sub" | LC_ALL=C sort -u)
		else
			_aim_arg file
		fi
		;;
	esac
}

complete -F _aim aim
complete -F _aim_resolve aim-resolve
complete -F _aim_invoke aim-invoke
complete -F _aim_fanout aim-fanout
complete -F _aim_apply aim-apply
complete -F _aim_audit aim-audit
complete -F _aim_secret aim-secret
complete -F _aim_scan aim-scan
complete -F _aim_init aim-init
complete -F _aim_run aim-run
complete -F _aim_install aim-install
complete -F _aim_cache aim-cache
