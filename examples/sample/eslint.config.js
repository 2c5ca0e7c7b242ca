// eslint.config.js - flat config for the aim demo sample (ESLint 9+, no plugins)
module.exports = [
	{
		files: ["**/*.js"],
		ignores: ["eslint.config.js"],
		languageOptions: {
			ecmaVersion: 2022,
			sourceType: "module",
		},
		rules: {
			"no-unused-vars": "error",
			"no-undef": "error",
			eqeqeq: "warn",
		},
	},
];
