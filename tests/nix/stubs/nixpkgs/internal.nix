# Helpers of the stubs (not exported as nixpkgs lib).
rec {
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  removePrefix =
    prefix: s:
    if hasPrefix prefix s then
      builtins.substring (builtins.stringLength prefix) (builtins.stringLength s - builtins.stringLength prefix) s
    else
      s;
  importTOML = path: builtins.fromTOML (builtins.readFile path);
  hasSuffix =
    suffix: s:
    let
      ls = builtins.stringLength s;
      lx = builtins.stringLength suffix;
    in
    ls >= lx && builtins.substring (ls - lx) lx s == suffix;
  splitString = sep: s: builtins.filter builtins.isString (builtins.split (escapeRegex sep) s);
  escapeRegex = builtins.replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "." "*" "+" "?" "^" "$" "|" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\." "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" ];
  concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
  concatStringsSep = builtins.concatStringsSep;
  take = n: list: if n <= 0 || list == [ ] then [ ] else [ (builtins.head list) ] ++ take (n - 1) (builtins.tail list);
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  cleanSourceWith =
    {
      src,
      filter,
      name ? "source",
    }:
    builtins.path {
      path = src;
      inherit filter name;
    };
  fix = f: let x = f x; in x;
  extends = overlay: f: final: let prev = f final; in prev // overlay final prev;
  makeScope =
    f:
    let
      self = f self // {
        overrideScope = g: makeScope (extends g f);
      };
    in
    self;
}
