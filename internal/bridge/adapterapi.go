package bridge

// AdapterMethod is a member of window.RCAdapter, which web/static/adapter.js
// defines for the host page (docs/commands.md). A method that posts a
// command names it and the command's fields it takes, in order; it returns
// a Promise of the answer's data. Any other member gives its TypeScript
// signature.
type AdapterMethod struct {
	Name    string
	Command string   // the command it posts, or ""
	Params  []string // the JSON names of the command's fields it takes
	TS      string   // the signature of a member that posts no command
	Doc     string
}

// AdapterAPI lists window.RCAdapter's members, in the order of adapter.js.
var AdapterAPI = []AdapterMethod{
	{Name: "frame", TS: "readonly frame: HTMLIFrameElement", Doc: "The widget's <iframe>."},
	{Name: "clickToCall", Command: CommandNewCall, Params: []string{"phoneNumber", "toCall"},
		Doc: "Shows the widget and opens the dialer with the number; dials it when toCall."},
	{Name: "clickToSMS", Command: CommandNewSMS, Params: []string{"phoneNumber", "text"},
		Doc: "Shows the widget and opens a new message to the number with the text."},
	{Name: "controlCall", Command: CommandControlCall, Params: []string{"callAction", "callId", "options"},
		Doc: "Carries out a call action; failures also come as rc-control-call-error."},
	{Name: "navigateTo", Command: CommandNavigateTo, Params: []string{"path"}, Doc: "Changes the widget's page."},
	{Name: "logoutUser", Command: CommandLogout, Doc: "Signs the user out."},
	{Name: "setMinimized", TS: "setMinimized(minimized: boolean): void", Doc: "Minimises or expands the frame."},
	{Name: "setClosed", TS: "setClosed(closed: boolean): void", Doc: "Hides the frame (true) or shows it again (false)."},
	{Name: "dispose", TS: "dispose(): void",
		Doc: "Removes the widget, its styles and listeners; pending Promises reject with code 'disposed'."},
}
