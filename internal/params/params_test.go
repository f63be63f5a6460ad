package params

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
)

func wantParam(t *testing.T, err error, status int, code, param string) {
	t.Helper()
	var e *httperror.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Param != param {
		t.Fatalf("%v, want %d %s naming %q", err, status, code, param)
	}
}

func TestPaging(t *testing.T) {
	p, err := Paging(url.Values{})
	if err != nil || p != (Page{Number: 1, PerPage: DefaultPerPage}) || p.Offset() != 0 {
		t.Fatalf("defaults %+v %v", p, err)
	}
	p, err = Paging(url.Values{"page": {"3"}, "perPage": {"20"}})
	if err != nil || p.Offset() != 40 {
		t.Fatalf("%+v %v", p, err)
	}
	for raw, param := range map[string]string{"page=0": "page", "page=x": "page", "page=1000001": "page",
		"perPage=0": "perPage", "perPage=1001": "perPage"} {
		v, _ := url.ParseQuery(raw)
		_, err := Paging(v)
		wantParam(t, err, 400, "InvalidParameter", param)
	}
}

func TestEnums(t *testing.T) {
	got, err := Enums(url.Values{"direction": {"inbound", "Outbound", "INBOUND"}}, "direction", []string{"Inbound", "Outbound"})
	if err != nil || strings.Join(got, ",") != "Inbound,Outbound" {
		t.Fatalf("%v %v", got, err)
	}
	_, err = Enum("userStatus", "Away", []string{"Available", "Busy"})
	wantParam(t, err, 400, "InvalidParameter", "userStatus")
}

func TestPhoneNumber(t *testing.T) {
	if n, err := PhoneNumber("(650) 555-0100", "to", "US"); err != nil || n != "(650) 555-0100" {
		t.Fatalf("%q %v", n, err)
	}
	for _, v := range []string{"", "  ", "call me", strings.Repeat("1", MaxNumberLength+1)} {
		_, err := PhoneNumber(v, "from", "US")
		wantParam(t, err, 400, "InvalidParameter", "from")
	}
}

func TestJSON(t *testing.T) {
	decode := func(ct, body string) error {
		req := httptest.NewRequest("PUT", "/", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		c := echo.New().NewContext(req, httptest.NewRecorder())
		var v struct {
			UserStatus *string `json:"userStatus"`
		}
		return JSON(c, &v)
	}
	if err := decode("application/json", `{"userStatus":"Busy"}`); err != nil {
		t.Fatal(err)
	}
	wantParam(t, decode("application/json", `{"userStatus":1}`), 400, "InvalidParameter", "userStatus")
	wantParam(t, decode("application/json", `{"status":"Busy"}`), 400, "InvalidParameter", "status")
	wantParam(t, decode("application/json", ``), 400, "InvalidJSON", "")
	wantParam(t, decode("application/json", `{"userStatus":`), 400, "InvalidJSON", "")
	wantParam(t, decode("application/json", `{} {}`), 400, "InvalidJSON", "")
	wantParam(t, decode("application/x-www-form-urlencoded", `userStatus=Busy`), 415, "UnsupportedMediaType", "")
}
