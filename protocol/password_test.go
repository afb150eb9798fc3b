package protocol

import (
	"testing"

	"github.com/shardgate/shardgate/rules"
)

func TestCheckPassword(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte(`users:
  - {name: clear, password: s3cret}
  - {name: native, password: "`+nativeHashOf("s3cret")+`"}
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}}
schemas: {shop: {cluster: main}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"clear", "native"} {
		u, _ := r.User(name)
		if !CheckPassword(u, "s3cret") || CheckPassword(u, "s3cret ") || CheckPassword(u, "") {
			t.Errorf("%s: the password check does not tell right from wrong", name)
		}
	}
}
