export interface SignInForm {
  email: string
  password: string
  /** The second factor, asked for once the server says the agent has one. */
  code: string
}
