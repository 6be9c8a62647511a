#!/usr/bin/env bash
# The layers of the library may include only the layers beneath them:
#   util < topology < transports < lb < core     (and every one the public tern/ headers)
# lb sees util only: the strategies work on plain tables the core hands them. A file that
# includes a layer above its own (or beside it) fails this test, naming the line.
#   layers.sh SOURCE_DIR
set -euo pipefail
cd "$1"
declare -A allowed=(
  [util]="util tern"
  [topology]="util topology tern"
  [transports]="util topology transports tern"
  [lb]="util lb tern"
  [core]="util topology transports lb core tern"
)
bad=0
for layer in "${!allowed[@]}"; do
  while IFS=: read -r file line text; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/' <<<"$text")
    top=${inc%%/*}
    [ "$top" = "$inc" ] && continue # a file beside it
    case " ${allowed[$layer]} " in
      *" $top "*) ;;
      *) echo "$file:$line: $layer/ includes $inc (a $top/ header; $layer/ may include: ${allowed[$layer]})"
         bad=1 ;;
    esac
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](util|topology|transports|lb|core|tern)/' "$layer" \
             --include='*.c' --include='*.h' || true)
done
[ $bad -eq 0 ] && echo "layers: every include goes down"
exit $bad
