package check

import (
	"net/url"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vecron/vecron/functions/contract"
)

// fileSettings returns the file paths c's env hands the function f: every setting whose key
// ends in _file, and the libpq files a literal database URL names (pgx reads sslrootcert,
// sslcert and sslkey from it). A URL from a Secret cannot be read here.
func fileSettings(c corev1.Container, f contract.Function) map[string]string {
	keyOf := map[string]string{}
	for _, s := range f.Settings {
		for _, n := range s.Env {
			keyOf[n] = s.Key
		}
	}
	out := map[string]string{} // what names it → path
	for _, e := range c.Env {
		key := keyOf[e.Name]
		switch {
		case e.ValueFrom != nil:
		case strings.HasSuffix(key, "_file"):
			out[key] = e.Value
		case key == "database.url":
			u, err := url.Parse(e.Value)
			if err != nil {
				continue
			}
			for _, p := range []string{"sslrootcert", "sslcert", "sslkey"} {
				if v := u.Query().Get(p); v != "" {
					out["database.url "+p] = v
				}
			}
		}
	}
	return out
}

// mountedFile reports whether file is a file of a Secret the pod mounts into c: under a
// mount of a Secret volume, and among the volume's items when it lists them.
func mountedFile(file string, c corev1.Container, pod corev1.PodSpec) bool {
	if !path.IsAbs(file) {
		return false
	}
	file = path.Clean(file)
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, path.Clean(m.MountPath)+"/")
		if !ok || rel == "" {
			continue
		}
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 || pod.Volumes[i].Secret == nil {
			continue
		}
		items := pod.Volumes[i].Secret.Items
		if len(items) == 0 && !strings.Contains(rel, "/") ||
			slices.ContainsFunc(items, func(it corev1.KeyToPath) bool { return path.Clean(it.Path) == rel }) {
			return true
		}
	}
	return false
}
