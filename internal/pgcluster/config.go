package pgcluster

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// renderSettings turns the defaults overlaid with extra into
// postgresql.conf lines, sorted so that the file is reproducible.
func renderSettings(extra map[string]string) (string, error) {
	all := DefaultSettings()
	for k, v := range extra {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		if k == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789_.") != "" {
			return "", fmt.Errorf("pgcluster: invalid setting name %q", k)
		}
		if strings.ContainsAny(all[k], "\n\r\x00") {
			return "", fmt.Errorf("pgcluster: setting %s: value contains a line break or NUL", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("\n# Added by hourglass internal/pgcluster; later lines win.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(all[k], "'", "''"))
	}
	return b.String(), nil
}

func renderHBA(lines []string) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by hourglass internal/pgcluster.\n")
	for _, l := range lines {
		if strings.ContainsAny(l, "\n\r\x00") {
			return "", fmt.Errorf("pgcluster: HBA line %q contains a line break or NUL", l)
		}
		b.WriteString(l + "\n")
	}
	b.WriteString("host all all 127.0.0.1/32 trust\n")
	return b.String(), nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}
